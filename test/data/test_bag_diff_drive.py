"""
Training a wheeled base from its bag: /odom and /cmd_vel (Twist), topics named its way.

The bags are real rosbag2 files written by test/helpers/diff_drive_bag.py with rosbags,
as `ros2 bag record` on a TurtleBot writes them.
"""

from diff_drive_bag import write_diff_drive_bag
from meta_mpc_ros import cli
from meta_mpc_ros.core.checkpoint import load_checkpoint
from meta_mpc_ros.data import readers
from meta_mpc_ros.data.bag_dataset import dataset_from_bags
from meta_mpc_ros.data.bag_reader import load_messages
from meta_mpc_ros.robots import robot_description
import numpy as np
import pytest

ROBOT = 'diff_drive'
TOPICS = {'odom': '/base/odom', 'cmd': '/teleop/cmd_vel'}


@pytest.mark.parametrize('stamped', [False, True], ids=['twist', 'twist_stamped'])
def test_twist_commands_read_back_as_written(tmp_path, stamped):
    written = write_diff_drive_bag(tmp_path / 'bag', seconds=5.0, stamped=stamped)
    messages, problems = load_messages([tmp_path / 'bag'], topics=('/cmd_vel',))
    assert not problems
    read = [(m.timestamp_ns, *readers.COMMAND_READERS[m.msgtype](m.message, 2))
            for m in messages]
    assert read == written


def test_the_dataset_holds_the_commands_over_the_odometry(tmp_path):
    written = write_diff_drive_bag(tmp_path / 'bag', seconds=20.0, odom_topic=TOPICS['odom'],
                                   cmd_topic=TOPICS['cmd'])
    dataset = dataset_from_bags([tmp_path / 'bag'], 0.1, robot=ROBOT, topics=TOPICS)
    description = robot_description(ROBOT)
    assert dataset.metadata['motor_joints'] == []    # /odom alone: no joint states needed
    states = np.concatenate([t.states for t in dataset.trajectories])
    actions = np.concatenate([t.actions for t in dataset.trajectories])
    assert states.shape[1] == description.state.dim == 6 and dataset.steps >= 190
    # A command is held for 5 control periods, so most transitions see exactly one
    # command; those that straddle a change see a time-weighted mix of two.
    commands = np.array([(speed, turn_rate) for _, speed, turn_rate in written])
    nearest = np.abs(actions[:, None, :] - commands[None]).max(axis=2).min(axis=1)
    assert np.mean(nearest < 1e-6) > 0.7
    # The estimator read (cos, sin) of the yaw the bag carries, and its forward speed.
    np.testing.assert_allclose(np.hypot(states[:, 2], states[:, 3]), 1.0, atol=1e-9)
    assert 0.0 <= states[:, 4].min() and states[:, 4].max() <= 0.3


def test_meta_mpc_train_takes_a_remapped_wheeled_base_bag(tmp_path, capsys):
    write_diff_drive_bag(tmp_path / 'bag', seconds=15.0, odom_topic=TOPICS['odom'],
                         cmd_topic=TOPICS['cmd'])
    out = tmp_path / 'mb.pt'
    status = cli.main(['train', '--robot', ROBOT, '--method', 'mb', '--data',
                       str(tmp_path / 'bag'), '--iterations', '3', '--out', str(out),
                       '--topic', f'odom:={TOPICS["odom"]}', '--topic', f'cmd:={TOPICS["cmd"]}'])
    assert status == 0, capsys.readouterr().err
    checkpoint = load_checkpoint(out, robot=ROBOT)
    assert checkpoint.state_spec == robot_description(ROBOT).state
    assert checkpoint.action_spec.names == ('linear_x', 'angular_z')


def test_a_bag_without_its_cmd_topic_fails_in_one_line(tmp_path, capsys):
    write_diff_drive_bag(tmp_path / 'bag', seconds=3.0, with_commands=False)
    status = cli.main(['train', '--robot', ROBOT, '--method', 'mb', '--data',
                       str(tmp_path / 'bag'), '--iterations', '1',
                       '--out', str(tmp_path / 'never.pt')])
    err = capsys.readouterr().err
    assert status == 2 and err.count('\n') == 1, err
    assert ('lacks /cmd_vel (geometry_msgs/msg/Twist or geometry_msgs/msg/TwistStamped) for '
            'cmd; it has /odom (nav_msgs/msg/Odometry)') in err
    assert not (tmp_path / 'never.pt').exists()
