"""
sim_node on the differential-drive base, in this process over DDS.

It takes /cmd_vel as the robot's interface says (Twist, or TwistStamped with
`enable_stamped_cmd_vel`), drops a bad command in one line and keeps the last good
one, publishes the wheels on /joint_states, and checks conditions with the base's own
parser.
"""

import time

from geometry_msgs.msg import Twist, TwistStamped
from meta_mpc_ros.ros import sim_node
from meta_mpc_ros.ros.sim_node import SimNode
import numpy as np
import pytest
import rclpy
from sensor_msgs.msg import JointState


@pytest.fixture
def node_factory(ros_env):
    """Start SimNode for diff_drive with overrides, and a talker node; yield both."""
    nodes = []

    def start(*overrides):
        arguments = ['--ros-args'] + [item for name in ('robot:=diff_drive',) + overrides
                                      for item in ('-p', name)]
        rclpy.init(args=arguments, domain_id=int(ros_env['ROS_DOMAIN_ID']))
        nodes.extend((SimNode(), rclpy.create_node('talker')))
        return nodes

    yield start
    for node in nodes:
        node.destroy_node()
    if rclpy.ok():
        rclpy.shutdown()


def send(sim, talker, message_class, messages):
    """Publish messages on /cmd_vel once sim_node hears it; spin sim_node after each."""
    publisher = talker.create_publisher(message_class, '/cmd_vel', 10)
    deadline = time.monotonic() + 10.0
    while publisher.get_subscription_count() < 1 and time.monotonic() < deadline:
        rclpy.spin_once(sim, timeout_sec=0.05)
    for message in messages:
        publisher.publish(message)
        rclpy.spin_once(sim, timeout_sec=2.0)


def twist(linear, angular, stamped=False):
    """Return a Twist (or TwistStamped) of (linear.x, angular.z)."""
    message = Twist()
    message.linear.x, message.angular.z = linear, angular
    return TwistStamped(twist=message) if stamped else message


def test_twist_commands_drive_the_base_and_a_nan_is_dropped(node_factory):
    sim, talker = node_factory('real_time_factor:=0.01')     # it barely moves meanwhile
    assert sim.sim.condition == 'carpet'                      # the description's default
    send(sim, talker, Twist, [twist(0.2, 0.5), twist(float('nan'), 0.0), twist(9.0, 0.0)])
    # The NaN was dropped (counted), the last command clipped to the bounds.
    assert sim.drops.as_values()['dropped_cmd'] == 1
    np.testing.assert_allclose(sim.sim.command, [0.31, 0.0])
    joints = []
    talker.create_subscription(JointState, '/joint_states', joints.append, 10)
    sim.sim.step(1.0)
    deadline = time.monotonic() + 5.0
    while not joints and time.monotonic() < deadline:
        sim.publish_measurements()
        rclpy.spin_once(talker, timeout_sec=0.1)
    assert list(joints[-1].name) == ['wheel_left_joint', 'wheel_right_joint']
    assert min(joints[-1].velocity) > 5.0                     # rad/s: both wheels forward


def test_stamped_commands_by_the_parameter(node_factory):
    sim, talker = node_factory('enable_stamped_cmd_vel:=true', 'real_time_factor:=0.01')
    send(sim, talker, TwistStamped, [twist(-0.1, 1.0, stamped=True)])
    np.testing.assert_allclose(sim.sim.command, [-0.1, 1.0])


def test_conditions_are_checked_by_the_base_s_parser():
    specs = {spec.name: spec for spec in sim_node.parameters('diff_drive')}
    assert specs['condition'].default == 'carpet'
    assert specs['condition'].validate('wet_floor,payload_kg=1') is None
    assert 'unknown condition' in specs['condition'].validate('styrofoam')
    assert specs['schedule'].validate('10.0:soft_tyre;20.0:carpet') is None
    assert 'unknown condition' in specs['schedule'].validate('10.0:missing_leg')
    # The millirobot's are its own.
    millirobot = {spec.name: spec for spec in sim_node.parameters('millirobot')}
    assert millirobot['condition'].validate('styrofoam') is None
