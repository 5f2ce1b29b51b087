"""
Training from another robot's bag: topics and joints named its own way.

The bags are written here with rosbags (rosbag2 version 8, as Humble reads them) from a
MuJoCo millirobot driven by random leg commands, as `ros2 bag record` on a robot would
write them: wall-clock stamps, the robot's own topic and joint names, and topics the
training does not use.
"""

from geometry_msgs.msg import Twist
from meta_mpc_ros import cli
from meta_mpc_ros.core.checkpoint import load_checkpoint
from meta_mpc_ros.data.bag_dataset import BagTopicError, dataset_from_bags, parse_topic_remaps
from meta_mpc_ros.sim.millirobot_sim import MillirobotSim
from nav_msgs.msg import Odometry
import numpy as np
import pytest
from rclpy.serialization import serialize_message
from rosbags.rosbag2 import Writer
from rosbags.typesys import get_typestore, Stores
from sensor_msgs.msg import BatteryState, JointState
from std_msgs.msg import Float64MultiArray

EPOCH_NS = 1_700_000_000 * 10 ** 9     # a robot's wall clock
SECONDS, CONTROL_DT, PUBLISH_DT = 40.0, 0.1, 0.02
OURS = {'odom': '/odom', 'joint_states': '/joint_states', 'cmd': '/cmd'}
THEIRS = {'odom': '/robot/odom', 'joint_states': '/robot/joint_states',
          'cmd': '/robot/forward_velocity_controller/commands'}
THEIR_JOINTS = ('left_wheel_joint', 'right_wheel_joint')
TYPES = {'odom': 'nav_msgs/msg/Odometry', 'joint_states': 'sensor_msgs/msg/JointState',
         'cmd': 'std_msgs/msg/Float64MultiArray', 'battery': 'sensor_msgs/msg/BatteryState',
         'cmd_vel': 'geometry_msgs/msg/Twist'}


def stamp(message, nanoseconds):
    """Set a header stamp from nanoseconds."""
    message.header.stamp.sec, message.header.stamp.nanosec = divmod(nanoseconds, 10 ** 9)
    return message


def robot_messages(joints, seed=0):
    """
    Yield (role, bag time ns, message) of a millirobot run with random leg commands.

    Commands change every control period; odometry and joint states come every 20 ms
    with the robot's joint names (motors first, then the legs as they are).
    """
    sim = MillirobotSim()
    sim.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for step in range(int(round(SECONDS / CONTROL_DT))):
        command = rng.uniform(-10.0, 20.0, size=2)
        sim.set_command(command)
        yield 'cmd', EPOCH_NS + int(round(sim.time * 1e9)), Float64MultiArray(
            data=command.tolist())
        for _ in range(int(round(CONTROL_DT / PUBLISH_DT))):
            sim.step(PUBLISH_DT)
            measured = sim.measurements()
            now = EPOCH_NS + int(round(measured.time * 1e9))
            odometry = stamp(Odometry(child_frame_id='base_link'), now)
            odometry.header.frame_id = 'odom'
            pose, twist = odometry.pose.pose, odometry.twist.twist
            pose.position.x, pose.position.y, pose.position.z = map(float, measured.position)
            (pose.orientation.x, pose.orientation.y, pose.orientation.z,
             pose.orientation.w) = map(float, measured.orientation_xyzw)
            twist.linear.x, twist.linear.y, twist.linear.z = map(float,
                                                                 measured.linear_velocity)
            twist.angular.x, twist.angular.y, twist.angular.z = map(float,
                                                                    measured.angular_velocity)
            names = list(joints) + list(MillirobotSim.JOINT_NAMES[2:])
            state = stamp(JointState(name=names), now)
            state.position = np.concatenate([measured.motor_angles,
                                             measured.leg_angles]).tolist()
            state.velocity = np.concatenate([measured.motor_rates, measured.leg_rates]).tolist()
            # Received a millisecond after they were stamped, as a recorder would.
            yield 'odom', now + 10 ** 6, odometry
            yield 'joint_states', now + 10 ** 6, state
        yield 'battery', now, BatteryState(voltage=7.4)
    sim.close()


def write_bag(path, topics, joints=('left_motor', 'right_motor'), skip=(), cmd_vel=False):
    """Write a version 8 sqlite3 bag of a robot run; `topics` maps roles to names."""
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    names = dict(topics, battery='/battery')
    with Writer(path, version=8) as writer:
        connections = {role: writer.add_connection(names[role], TYPES[role],
                                                   typestore=typestore)
                       for role in names if role not in skip}
        if cmd_vel:
            connections['cmd_vel'] = writer.add_connection('/cmd_vel', TYPES['cmd_vel'],
                                                           typestore=typestore)
        for role, time_ns, message in robot_messages(joints):
            if role in connections:
                writer.write(connections[role], time_ns, serialize_message(message))
            if role == 'cmd' and cmd_vel:
                writer.write(connections['cmd_vel'], time_ns, serialize_message(Twist()))
    return path


@pytest.fixture(scope='module')
def bags(tmp_path_factory):
    """Write the same run twice: under our names, and under the robot's topic and joint names."""
    folder = tmp_path_factory.mktemp('robot_bags')
    return {'ours': write_bag(folder / 'ours', OURS),
            'theirs': write_bag(folder / 'theirs', THEIRS, THEIR_JOINTS)}


def test_remapped_bag_gives_the_dataset_of_our_own_names(bags):
    ours = dataset_from_bags([bags['ours']], CONTROL_DT)
    theirs = dataset_from_bags([bags['theirs']], CONTROL_DT, topics=THEIRS,
                               motor_joints=THEIR_JOINTS)
    # 40 s at 10 Hz, one unlabelled task; the first sample has no action yet.
    assert [t.task for t in theirs.trajectories] == ['unlabelled']
    assert theirs.steps >= 390
    assert [t.task for t in ours.trajectories] == [t.task for t in theirs.trajectories]
    for a, b in zip(ours.trajectories, theirs.trajectories):
        assert np.array_equal(a.states, b.states) and np.array_equal(a.actions, b.actions)
    assert theirs.metadata['dropped_messages'] == 0


def test_foreign_bag_trains_through_topic_remaps(bags, tmp_path, capsys):
    out = tmp_path / 'robot_mb.pt'
    status = cli.main([
        'train', '--method', 'mb', '--data', str(bags['theirs']), '--iterations', '20',
        '--out', str(out), '--joints', ','.join(THEIR_JOINTS),
        *[item for role, topic in THEIRS.items() for item in ('--topic', f'{role}:={topic}')]])
    assert status == 0, capsys.readouterr().err
    checkpoint = load_checkpoint(out, robot='millirobot')
    assert checkpoint.training['data']['topics']['odom'] == '/robot/odom'
    assert checkpoint.training['transitions'] >= 390


@pytest.mark.parametrize('bag, argv, expected', [
    # Nothing mapped: the robot's names are not ours.
    ('theirs', [], 'lacks /odom (nav_msgs/msg/Odometry) for odom; /joint_states '
     '(sensor_msgs/msg/JointState) for joint_states; /cmd (std_msgs/msg/Float64MultiArray) '
     'for cmd; it has /battery (sensor_msgs/msg/BatteryState), '
     '/robot/forward_velocity_controller/commands (std_msgs/msg/Float64MultiArray), '
     '/robot/joint_states (sensor_msgs/msg/JointState), /robot/odom (nav_msgs/msg/Odometry)'),
    # A bag with no command topic at all.
    ('no_cmd', ['--topic', 'odom:=/robot/odom'], 'lacks /cmd (std_msgs/msg/Float64MultiArray) '
     'for cmd; it has /battery (sensor_msgs/msg/BatteryState), /joint_states'),
    # A Nav2-style velocity command is not a leg-rate command.
    ('cmd_vel', ['--topic', 'cmd:=/cmd_vel'], 'lacks /cmd_vel as std_msgs/msg/Float64MultiArray '
     'for cmd (it is geometry_msgs/msg/Twist, which millirobot does not '
     'read as its commands)'),
    # All topics mapped, but the joints keep our default names.
    ('theirs', [f'--topic={role}:={topic}' for role, topic in THEIRS.items()],
     "/robot/joint_states has no joints ['left_motor', 'right_motor'] (it has "
     "['left_wheel_joint', 'right_wheel_joint', 'left_front_leg'"),
    ('theirs', ['--topic', 'wheels:=/robot/odom'], "'wheels' is not one of odom, "
     'joint_states, cmd, terrain'),
    ('theirs', ['--joints', 'left_wheel_joint'],
     "give 2 names, for millirobot's left_motor,right_motor"),
], ids=['nothing_mapped', 'no_cmd', 'cmd_vel', 'joints_not_mapped', 'bad_role', 'one_joint'])
def test_bag_without_a_needed_topic_fails_with_one_line(
        bag, argv, expected, bags, tmp_path, capsys):
    if bag == 'no_cmd':
        path = write_bag(tmp_path / 'no_cmd', dict(OURS, odom='/robot/odom'), skip=('cmd',))
    elif bag == 'cmd_vel':
        path = write_bag(tmp_path / 'cmd_vel', OURS, cmd_vel=True)
    else:
        path = bags[bag]
    status = cli.main(['train', '--method', 'mb', '--data', str(path), '--iterations', '1',
                       '--out', str(tmp_path / 'never.pt'), *argv])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith('meta-mpc train: error: ') and err.count('\n') == 1, err
    assert expected in err
    assert not (tmp_path / 'never.pt').exists()


def test_topic_remaps_parse_roles_and_our_topic_names():
    assert parse_topic_remaps(['odom:=/robot/odom', '/cmd:=/robot/cmd', 'terrain:=/label']) == {
        'odom': '/robot/odom', 'cmd': '/robot/cmd', 'terrain': '/label'}
    for bad in (['odom=/robot/odom'], ['odom:=robot/odom'], ['odom:=/a', 'odom:=/b']):
        with pytest.raises(ValueError):
            parse_topic_remaps(bad)
    with pytest.raises(ValueError, match='more than one role'):
        dataset_from_bags([], CONTROL_DT, topics={'odom': '/x', 'cmd': '/x'})
    assert issubclass(BagTopicError, ValueError)
