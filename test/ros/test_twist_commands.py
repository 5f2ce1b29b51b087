"""
The controller on a Twist base: /cmd_vel within its bounds and acceleration limits.

Every stop and the shutdown send a zero Twist; TwistStamped comes by a parameter.

The controller node runs in this process (its own DDS domain) with an untrained
diff_drive checkpoint, and a listener node in the same context receives what it
publishes over DDS.
"""

import time

from geometry_msgs.msg import Twist, TwistStamped
from meta_mpc_ros.core.checkpoint import save_checkpoint
from meta_mpc_ros.core.roles import BASELINE_ADAPTER
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.pipeline.train import build_model
from meta_mpc_ros.robots import robot_description
from meta_mpc_ros.ros import conversions
from meta_mpc_ros.ros.command_interfaces import COMMAND_MESSAGES, CommandChannel
from meta_mpc_ros.ros.mppi_controller_node import MPPIControllerNode
import numpy as np
import pytest
import rclpy
import torch

ROBOT = robot_description('diff_drive')


@pytest.fixture
def controller(ros_env, tmp_path):
    """Start the controller for diff_drive (with overrides) and a listener; yield both."""
    config = load_robot_config(ROBOT.name)
    checkpoint = tmp_path / 'diff_drive_mb.pt'
    save_checkpoint(checkpoint, build_model(config, 'mb', ROBOT.state, ROBOT.action, seed=0),
                    'mb', ROBOT.name, ROBOT.state, ROBOT.action)
    threads = torch.get_num_threads()
    nodes = []

    def start(message_class=Twist, *overrides):
        arguments = ['--ros-args'] + [item for name in (
            f'robot:={ROBOT.name}', f'checkpoint:={checkpoint}',
            f'adapter:={BASELINE_ADAPTER}') + overrides for item in ('-p', name)]
        rclpy.init(args=arguments, domain_id=int(ros_env['ROS_DOMAIN_ID']))
        node = MPPIControllerNode()
        listener = rclpy.create_node('cmd_vel_listener')
        received = []
        listener.create_subscription(message_class, '/cmd_vel', received.append, 50)
        nodes.extend((node, listener))
        deadline = time.monotonic() + 10.0
        while node.cmd_publisher.get_subscription_count() < 1 and time.monotonic() < deadline:
            rclpy.spin_once(listener, timeout_sec=0.05)
        return node, listener, received

    yield start
    for node in nodes:
        node.destroy_node()
    if rclpy.ok():
        rclpy.shutdown()
    torch.set_num_threads(threads)


def receive(listener, received, count):
    """Spin the listener until `count` messages are in (or 5 s passed); return them."""
    deadline = time.monotonic() + 5.0
    while len(received) < count and time.monotonic() < deadline:
        rclpy.spin_once(listener, timeout_sec=0.05)
    assert len(received) == count, f'{len(received)} of {count} commands arrived'
    return received


def twist_values(message):
    """Return (linear.x, angular.z) and every other entry of a Twist."""
    others = (message.linear.y, message.linear.z, message.angular.x, message.angular.y)
    return [message.linear.x, message.angular.z], others


def test_planned_commands_are_clipped_and_every_stop_is_a_zero_twist(controller):
    node, listener, received = controller()
    assert node.channel.topic == '/cmd_vel'
    low, high, (accel, turn_accel) = ROBOT.action.low, ROBOT.action.high, \
        ROBOT.acceleration_limits
    stamp = conversions.seconds_to_stamp
    # From rest, the first command may change over one control period (0.1 s): asking
    # for far beyond the bounds gives min(bound, limit * 0.1) on each entry.
    node.publish_command(np.array([5.0, -9.0]), stamp=stamp(10.0))
    # 0.1 s later: one more step of each limit.
    node.publish_command(np.array([5.0, -9.0]), stamp=stamp(10.1))
    # A reversal 0.1 s later ramps back by one step, not to the other bound.
    node.publish_command(np.array([-5.0, 9.0]), stamp=stamp(10.2))
    node.watchdog()                          # no state was ever received: nothing sent
    node.last_state_wall = 0.0               # a state long ago: stale, a safety stop
    node.watchdog()
    # After the stop the ramp starts again from rest.
    node.publish_command(np.array([5.0, 9.0]), stamp=stamp(11.0))
    node.close()                             # shutdown: one more zero
    messages = receive(listener, received, 6)
    values = [twist_values(message) for message in messages]
    assert all(others == (0.0, 0.0, 0.0, 0.0) for _, others in values)
    first = [min(high[0], accel * 0.1), max(low[1], -turn_accel * 0.1)]
    second = [min(high[0], 2 * accel * 0.1), max(low[1], -2 * turn_accel * 0.1)]
    third = [second[0] - accel * 0.1, second[1] + turn_accel * 0.1]
    expected = [first, second, third, [0.0, 0.0], [accel * 0.1, turn_accel * 0.1],
                [0.0, 0.0]]
    np.testing.assert_allclose([command for command, _ in values], expected, atol=1e-12)
    assert first == [0.1, -0.4]              # 1 m/s^2 and 4 rad/s^2 over 0.1 s
    assert node.stopped and node.stop_reason == 'controller shutting down'


def test_a_state_with_nan_is_dropped_and_no_path_gives_a_zero_twist(controller):
    node, listener, received = controller()
    names = node.checkpoint.state_spec.names
    bad = conversions.state_message(np.zeros(len(names)), names, conversions.seconds_to_stamp(1.0))
    bad.position[2] = float('nan')
    node.on_state(bad)
    assert node.drops.as_values()['dropped_state'] == 1
    node.on_state(conversions.state_message(np.zeros(len(names)), names,
                                            conversions.seconds_to_stamp(1.0)))
    command, others = twist_values(receive(listener, received, 1)[0])
    assert command == [0.0, 0.0] and node.stop_reason == 'no reference path yet'


def test_stamped_commands_by_a_parameter(controller):
    node, listener, received = controller(TwistStamped, 'enable_stamped_cmd_vel:=true')
    node.publish_command(np.array([0.05, 0.2]), stamp=conversions.seconds_to_stamp(3.5))
    message = receive(listener, received, 1)[0]
    assert message.header.frame_id == 'base_link'
    assert conversions.stamp_to_seconds(message.header.stamp) == 3.5
    np.testing.assert_allclose(twist_values(message.twist)[0], [0.05, 0.2])


def test_every_command_type_has_a_builder_and_an_unstamped_interface_refuses_stamps():
    for interface in ('forward_command', 'twist'):
        described = robot_description('millirobot').command_interface \
            if interface == 'forward_command' else ROBOT.command_interface
        for message_type in described.message_types:
            assert message_type in COMMAND_MESSAGES
    channel = CommandChannel(ROBOT.command_interface)
    assert channel.read(channel.message([0.2, -0.5]), 2).tolist() == [0.2, -0.5]
    with pytest.raises(ValueError):
        channel.message([float('nan'), 0.0])
    with pytest.raises(ValueError, match='has no stamped variant'):
        CommandChannel(robot_description('millirobot').command_interface, stamped=True)
