"""A user's mistake on the command line: one line on stderr and status 2, no traceback."""

import pathlib

from meta_mpc_ros import cli
from meta_mpc_ros.core.dataset import Trajectory, TrajectoryDataset
from meta_mpc_ros.data import bag_repair
from meta_mpc_ros.data.bag_writer import BagWriter
from nav_msgs.msg import Odometry
import numpy as np
import pytest
from rclpy.serialization import serialize_message
from rosbags.typesys import get_typestore, Stores
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
TYPESTORE = get_typestore(Stores.ROS2_HUMBLE)


def run_cli(capsys, *argv):
    """Run `meta-mpc argv`; return (status, stderr lines)."""
    status = cli.main(list(argv))
    return status, capsys.readouterr().err.strip().splitlines()


def assert_one_line(status, lines, *texts):
    assert status == 2
    assert len(lines) == 1, lines
    assert all(text in lines[0] for text in texts), lines[0]


@pytest.fixture(params=['mcap', 'sqlite3'])
def odometry_only_bag(request, tmp_path):
    """Return the storage file of a bag with odometry only (no /joint_states, /cmd)."""
    with BagWriter(tmp_path / 'robot', request.param, typestore=TYPESTORE) as writer:
        writer.add_topic('/odom', 'nav_msgs/msg/Odometry')
        for step in range(20):
            message = Odometry(child_frame_id='base_link')
            message.header.stamp.sec, message.header.stamp.nanosec = 1, step * 10**8
            message.pose.pose.orientation.w = 1.0
            writer.write('/odom', 10**9 + step * 10**8, serialize_message(message))
    return writer.storage_file


def test_a_bare_bag_file_is_read_as_a_bag_and_a_foreign_one_is_one_line(
        capsys, tmp_path, odometry_only_bag):
    # A lone .mcap/.db3 was taken for a dataset file and failed with a pickle message;
    # read as the bag it is, this one has no /joint_states and no /cmd: a one-line
    # reason naming what is missing and what the bag has.
    status, lines = run_cli(capsys, 'train', '--method', 'mb', '--data',
                            str(odometry_only_bag), '--out', str(tmp_path / 'model.pt'))
    assert_one_line(status, lines, 'meta-mpc train: error: bag ', 'lacks /joint_states',
                    '/cmd', 'it has /odom (nav_msgs/msg/Odometry)')
    assert 'pickle' not in lines[0]


def test_bag_repair_on_a_file_is_one_line(capsys, odometry_only_bag):
    assert bag_repair.main([str(odometry_only_bag)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and 'the bag directory that holds it' in lines[0]


def test_a_checkpoint_with_code_is_refused_without_torch_advice(capsys, tmp_path):
    path = tmp_path / 'foreign.pt'
    # A path object pickles as a class to call: code that the safe loader refuses to run.
    torch.save({'params': pathlib.PurePosixPath('/tmp')}, path)
    status, lines = run_cli(capsys, 'evaluate', '--checkpoint', str(path), '--steps', '1')
    assert_one_line(status, lines, 'meta-mpc evaluate: error:', str(path),
                    'refused by the safe loader')
    assert 'weights_only' not in lines[0]


@pytest.mark.parametrize('text', ['nodes: [a, b', 'nodes:\n\t- bad tab', '\xff\xfe'])
def test_a_malformed_graph_description_is_one_line(capsys, tmp_path, text):
    graph = tmp_path / 'graph.yaml'
    graph.write_bytes(text.encode('latin-1'))
    for argv in (['--dry-run'], ['--show-args']):
        status, lines = run_cli(capsys, 'launch', '--graph', str(graph), *argv)
        assert_one_line(status, lines, f'{graph}: cannot read the graph description')
    status, lines = run_cli(capsys, 'launch', '--graph', str(tmp_path / 'missing.yaml'),
                            '--dry-run')
    assert_one_line(status, lines, 'cannot read the graph description')


def test_too_little_data_to_train_on_is_one_line(capsys, tmp_path):
    # 3 transitions, where a window needs M + K = 32 (config/millirobot.yaml).
    data = tmp_path / 'tiny.npz'
    TrajectoryDataset([Trajectory(np.zeros((4, 19)), np.zeros((3, 2)), 'carpet')],
                      {'robot': 'millirobot', 'control_dt': 0.1}).save(data)
    status, lines = run_cli(capsys, 'train', '--method', 'mb', '--data', str(data), '--out',
                            str(tmp_path / 'model.pt'), '--config',
                            str(ROOT / 'config' / 'millirobot.yaml'))
    assert_one_line(status, lines, 'meta-mpc train: error:', 'transitions a window needs')


def test_collect_on_one_condition_and_a_bad_one_is_one_line(capsys, tmp_path):
    out = tmp_path / 'payload.npz'
    status = cli.main(['collect', '--robot', 'millirobot', '--episodes', '1', '--workers', '1',
                       '--condition', 'payload', '--out', str(out)])
    assert status == 0
    dataset = TrajectoryDataset.load(out)
    assert {trajectory.task for trajectory in dataset.trajectories} == {'payload'}
    assert dataset.metadata['task'] == 'payload'
    capsys.readouterr()
    status, lines = run_cli(capsys, 'collect', '--robot', 'half_cheetah_disabled_joint',
                            '--condition', 'disabled_joint=9', '--out', str(tmp_path / 'x.npz'))
    assert_one_line(status, lines, 'meta-mpc collect: error:', 'disabled_joint')
    assert not (tmp_path / 'x.npz').exists()
