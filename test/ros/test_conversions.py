"""Message <-> array conversions: round trips, rejected input, bag-deserialized messages."""

import math

from builtin_interfaces.msg import Time
from meta_mpc_ros.core.reference import ReferencePath
from meta_mpc_ros.robots.millirobot import MILLIROBOT_STATE
from meta_mpc_ros.ros import conversions
from nav_msgs.msg import Odometry
import numpy as np
import pytest
from rclpy.serialization import serialize_message
from rosbags.typesys import get_typestore, Stores
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from visualization_msgs.msg import Marker

STAMP = Time(sec=12, nanosec=500_000_000)


def odometry(x=1.0, yaw=0.5, vx=0.2, wz=-0.3):
    """Return an Odometry at (x, 2x, 0.01) with heading yaw and a body twist."""
    message = Odometry()
    message.header.stamp = STAMP
    message.pose.pose.position.x, message.pose.pose.position.y = x, 2 * x
    message.pose.pose.position.z = 0.01
    orientation = message.pose.pose.orientation
    orientation.x, orientation.y, orientation.z, orientation.w = (
        conversions.yaw_to_quaternion(yaw))
    message.twist.twist.linear.x = vx
    message.twist.twist.angular.z = wz
    return message


def test_stamps_round_trip():
    assert conversions.stamp_to_nanoseconds(STAMP) == 12_500_000_000
    assert conversions.stamp_to_seconds(STAMP) == 12.5
    assert conversions.seconds_to_stamp(12.5) == STAMP
    assert conversions.nanoseconds_to_stamp(12_500_000_001).nanosec == 500_000_001
    # 0.1 s is not exact in binary; rounding to the nearest ns keeps it at 100 000 000.
    assert conversions.seconds_to_stamp(3.1).nanosec == 100_000_000
    with pytest.raises(ValueError):
        conversions.seconds_to_stamp(math.nan)
    with pytest.raises(ValueError):
        conversions.nanoseconds_to_stamp(-1)


def test_read_odometry():
    position, orientation, linear, angular, stamp = conversions.read_odometry(odometry())
    np.testing.assert_allclose(position, [1.0, 2.0, 0.01])
    # yaw 0.5 rad about z: (0, 0, sin 0.25, cos 0.25).
    np.testing.assert_allclose(orientation, [0, 0, math.sin(0.25), math.cos(0.25)])
    np.testing.assert_allclose(linear, [0.2, 0, 0])
    np.testing.assert_allclose(angular, [0, 0, -0.3])
    assert stamp == 12.5


@pytest.mark.parametrize('field', ['position', 'orientation', 'twist'])
def test_read_odometry_rejects_nan_and_zero_quaternion(field):
    message = odometry()
    if field == 'position':
        message.pose.pose.position.y = math.nan
    elif field == 'orientation':
        message.pose.pose.orientation.z = message.pose.pose.orientation.w = 0.0
    else:
        message.twist.twist.angular.x = math.inf
    with pytest.raises(ValueError):
        conversions.read_odometry(message)


def test_read_joint_states_picks_named_joints_in_order():
    message = JointState(name=['leg_1', 'right_motor', 'left_motor'],
                         position=[9.0, 2.0, 1.0], velocity=[9.0, 20.0, 10.0])
    positions, velocities = conversions.read_joint_states(message, ('left_motor', 'right_motor'))
    np.testing.assert_array_equal(positions, [1.0, 2.0])
    np.testing.assert_array_equal(velocities, [10.0, 20.0])
    with pytest.raises(ValueError, match='no joint'):
        conversions.read_joint_states(message, ('left_motor', 'tail'))
    message.velocity = [1.0]
    with pytest.raises(ValueError, match='velocities'):
        conversions.read_joint_states(message, ('left_motor',))
    message.velocity = [0.0, math.nan, 0.0]
    with pytest.raises(ValueError):
        conversions.read_joint_states(message, ('right_motor',))


def test_command_round_trip_and_checks():
    message = conversions.command_message(np.array([3.0, 4.5]))
    np.testing.assert_array_equal(conversions.read_command(message, 2), [3.0, 4.5])
    with pytest.raises(ValueError, match='expected 2'):
        conversions.read_command(Float64MultiArray(data=[1.0, 2.0, 3.0]), 2)
    with pytest.raises(ValueError):
        conversions.read_command(Float64MultiArray(data=[1.0, math.nan]), 2)
    with pytest.raises(ValueError):
        conversions.command_message([math.inf, 0.0])


def test_state_round_trip_and_name_check():
    names = MILLIROBOT_STATE.names
    state = np.arange(len(names), dtype=np.float64) / 7.0
    message = conversions.state_message(state, names, STAMP)
    values, stamp = conversions.read_state(message, names)
    np.testing.assert_array_equal(values, state)
    assert stamp == 12.5
    with pytest.raises(ValueError, match='differ'):
        conversions.read_state(message, names[::-1])
    with pytest.raises(ValueError):
        conversions.state_message(state[:-1], names, STAMP)
    message.position[3] = math.nan
    with pytest.raises(ValueError):
        conversions.read_state(message, names)


def test_transitions_round_trip_layout():
    rng = np.random.default_rng(0)
    states, actions = rng.normal(size=(17, 19)), rng.normal(size=(16, 2))
    message = conversions.transitions_message(states, actions)
    dims = [(d.label, d.size, d.stride) for d in message.layout.dim]
    # Packed row-major blocks: states 17 x 19 = 323 values, then actions 16 x 2 = 32.
    assert dims == [('states', 17, 323), ('state', 19, 19), ('actions', 16, 32),
                    ('action', 2, 2)]
    assert len(message.data) == 323 + 32
    read_states, read_actions = conversions.read_transitions(message, 19, 2)
    np.testing.assert_array_equal(read_states, states)
    np.testing.assert_array_equal(read_actions, actions)


def test_a_window_stamped_on_the_wall_clock_round_trips():
    # A robot without /clock (use_sim_time false) stamps in s since 1970, about 1.8e9:
    # beyond MAX_VALUE for a measurement, yet a stamp (up to Time's 2^31 - 1 s).
    stamp = 1_796_317_279.9104
    assert stamp > conversions.MAX_VALUE
    message = conversions.transitions_message(np.zeros((3, 4)), np.ones((2, 2)), stamp=stamp)
    assert conversions.read_stamped_transitions(message, 4, 2)[2] == stamp
    for bad in (-1.0, 2.0 ** 32, math.nan):
        with pytest.raises(ValueError, match='stamp'):
            conversions.transitions_message(np.zeros((3, 4)), np.ones((2, 2)), stamp=bad)
        message.data[-1] = bad
        with pytest.raises(ValueError, match='stamp'):
            conversions.read_stamped_transitions(message)


def _broken(change):
    """Return a valid transitions message with one thing broken by `change`."""
    message = conversions.transitions_message(np.zeros((3, 4)), np.zeros((2, 2)))
    change(message)
    return message


@pytest.mark.parametrize('change, match', [
    (lambda m: setattr(m.layout.dim[0], 'label', 'rows'), 'labels'),
    (lambda m: setattr(m.layout.dim[0], 'size', 4), 'states for'),
    (lambda m: setattr(m.layout.dim[1], 'stride', 5), 'strides'),
    (lambda m: setattr(m, 'data', list(m.data)[:-1]), 'values'),
    (lambda m: m.data.__setitem__(0, math.nan), 'non-finite'),
])
def test_read_transitions_rejects_bad_windows(change, match):
    with pytest.raises(ValueError, match=match):
        conversions.read_transitions(_broken(change))


def test_read_transitions_checks_expected_sizes():
    message = conversions.transitions_message(np.zeros((3, 4)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match='state size 4'):
        conversions.read_transitions(message, state_dim=19)
    with pytest.raises(ValueError, match='action size 2'):
        conversions.read_transitions(message, action_dim=3)
    with pytest.raises(ValueError):
        conversions.transitions_message(np.zeros((3, 4)), np.zeros((3, 2)))


@pytest.mark.parametrize('task', ['straight', 'left_turn', 'zigzag', 'figure8'])
def test_reference_path_round_trip(task):
    path = ReferencePath.make(task, scale=0.5, spacing=0.02)
    message = conversions.reference_path_message(path, 'odom', STAMP)
    assert message.header.frame_id == 'odom' and len(message.poses) == len(path.points)
    points, headings = conversions.read_path(message)
    np.testing.assert_allclose(points, path.points, atol=1e-12)
    np.testing.assert_allclose(np.cos(headings - path.headings), 1.0, atol=1e-12)
    again = conversions.read_reference_path(message, name=task)
    np.testing.assert_allclose(again.arclength, path.arclength, atol=1e-9)
    # Only the figure-8 ends where it starts.
    assert again.closed == (task == 'figure8')


def test_read_reference_path_rejects_degenerate_paths():
    message = conversions.path_message([[0.0, 0.0]], [0.0], 'odom', STAMP)
    with pytest.raises(ValueError):
        conversions.read_reference_path(message)
    message = conversions.path_message([[0.0, 0.0], [0.0, 0.0]], [0.0, 0.0], 'odom', STAMP)
    with pytest.raises(ValueError):
        conversions.read_reference_path(message)


def test_plan_headings_follow_the_plan_without_yaw():
    # East, then north, then a repeated point (keeps north); the last pose repeats.
    plan = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    _, headings = conversions.read_path(conversions.plan_message(plan, 'odom', STAMP))
    np.testing.assert_allclose(headings, [0.0, math.pi / 2, math.pi / 2, math.pi / 2])
    with_yaw = np.array([[0.0, 0.0, 0.3], [0.1, 0.0, -0.2]])
    _, headings = conversions.read_path(conversions.plan_message(with_yaw, 'odom', STAMP))
    np.testing.assert_allclose(headings, [0.3, -0.2])
    with pytest.raises(ValueError):
        conversions.plan_message(np.zeros((4, 4)), 'odom', STAMP)


def test_rollouts_are_thinned_to_line_strips():
    # K = 50 straight rollouts; rollout k ends at y = k.
    steps = np.linspace(0.0, 1.0, 6)
    rollouts = np.stack([np.stack([steps, k * steps], axis=1) for k in range(50)])
    array = conversions.rollouts_marker_array(rollouts, 'odom', STAMP, max_lines=5)
    assert array.markers[0].action == Marker.DELETEALL
    lines = array.markers[1:]
    assert len(lines) == 5 and all(m.type == Marker.LINE_STRIP for m in lines)
    assert [m.id for m in lines] == list(range(5))
    # Evenly spaced over 0..49: round(linspace(0, 49, 5)) = 0, 12, 24, 37, 49.
    assert [m.points[-1].y for m in lines] == [0.0, 12.0, 24.0, 37.0, 49.0]
    assert all(len(m.points) == 6 and m.header.frame_id == 'odom' for m in lines)
    # With costs, the cheapest are drawn, cheapest first, green to red.
    costs = np.arange(50.0)[::-1]
    lines = conversions.rollouts_marker_array(rollouts, 'odom', STAMP, 3, costs).markers[1:]
    assert [m.points[-1].y for m in lines] == [49.0, 48.0, 47.0]
    assert lines[0].color.g == 1.0 and lines[-1].color.r == 1.0
    with pytest.raises(ValueError):
        conversions.rollouts_marker_array(rollouts[:, :, :1], 'odom', STAMP)
    with pytest.raises(ValueError):
        conversions.rollouts_marker_array(rollouts, 'odom', STAMP, 3, costs[:-1])


def test_readers_accept_messages_deserialized_by_rosbags():
    # A bag written from live messages is read back by rosbags into its own classes
    # (numpy arrays for float sequences); the same readers give the same arrays.
    store = get_typestore(Stores.ROS2_HUMBLE)

    def through_bag(message, type_name):
        return store.deserialize_cdr(serialize_message(message), type_name)

    live = conversions.read_odometry(odometry())
    from_bag = conversions.read_odometry(through_bag(odometry(), 'nav_msgs/msg/Odometry'))
    for a, b in zip(live, from_bag):
        np.testing.assert_array_equal(a, b)
    states, actions = np.arange(12.0).reshape(3, 4), np.arange(4.0).reshape(2, 2)
    window = through_bag(conversions.transitions_message(states, actions),
                         'std_msgs/msg/Float64MultiArray')
    np.testing.assert_array_equal(conversions.read_transitions(window)[0], states)
    path = ReferencePath.make('zigzag', scale=0.5, spacing=0.05)
    bag_path = through_bag(conversions.reference_path_message(path, 'odom', STAMP),
                           'nav_msgs/msg/Path')
    np.testing.assert_allclose(conversions.read_reference_path(bag_path).points, path.points)
    joints = JointState(name=['left_motor', 'right_motor'], position=[1.0, 2.0],
                        velocity=[3.0, 4.0], effort=[0.0, 0.0])
    positions, _ = conversions.read_joint_states(
        through_bag(joints, 'sensor_msgs/msg/JointState'), ('right_motor',))
    np.testing.assert_array_equal(positions, [2.0])
