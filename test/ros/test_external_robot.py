"""
sim:=none: the graph runs against a robot it did not start.

The "robot" is our own sim_node, started first as a process of its own (as a real
robot's driver or a Gazebo bridge would be), then `meta-mpc launch sim:=none` starts
everything else. In the second case the robot's topics have other names, which the
launch arguments odom_topic, joint_states_topic and cmd_topic map back; the graph's
recorder then stores them under the graph's names, so such a bag trains as it is.

Both run in lockstep (the robot waits for each answer), so that what is asserted does
not depend on the machine's load: in real time on 2 busy cores (after the Ray grid
test, in the whole suite) the robot tracked 0.19-0.24 m from the path, and this test
could only be an xfail. test_system_graph runs the whole graph in lockstep too; the
real-time graph is test_system_faults' and test_system_adversarial's (its watchdogs).
"""

import dataclasses
import json
import pathlib
import signal
import subprocess
import sys

from graph_listener import probe, statuses
from meta_mpc_ros.core.reference import PathTracker, ReferencePath
from meta_mpc_ros.data.bag_reader import load_messages
from meta_mpc_ros.ros.graph import build_graph
from meta_mpc_ros.ros.graph.process import GraphProcess
import numpy as np
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
RENAMED = (('/odom', '/robot/odom'), ('/joint_states', '/robot/joint_states'),
           ('/cmd', '/robot/cmd'))
pytestmark = pytest.mark.slow
PROBE_WALL_S = 240    # the most wall time a run may take (about 25 s on an idle machine)


@pytest.mark.parametrize('renamed', [False, True], ids=['same_names', 'renamed_topics'])
def test_graph_drives_a_robot_it_did_not_start(renamed, tmp_path, graph_env):
    env = graph_env
    robot = build_graph(run_dir=tmp_path / 'robot').node('sim_node')
    robot = dataclasses.replace(robot, remappings=RENAMED if renamed else (),
                                parameters=dict(robot.parameters, lockstep=True))
    remaps = [f'{source}:={target}' for source, target in robot.remappings]
    topics = [f'{name}_topic:={target}' for name, target in zip(
        ('odom', 'joint_states', 'cmd'), (target for _, target in robot.remappings))]
    # The graph runs until the robot has been commanded for 16 s of sim time, however
    # long the machine takes to start six processes and compute them (lockstep), and at
    # most PROBE_WALL_S of wall time.
    listener = probe(env, PROBE_WALL_S, tmp_path / 'seen.json', until_commanded=16.0,
                     ros_args=[item for remap in remaps for item in ('-r', remap)])
    simulator = GraphProcess([robot], tmp_path / 'robot' / 'logs', env=env).start()
    run_dir = tmp_path / 'graph'
    launch = subprocess.Popen(
        [sys.executable, '-m', 'meta_mpc_ros.cli', 'launch', 'sim:=none', 'task:=figure8',
         f'record:={renamed}', 'lockstep:=true', *topics, '--run-dir', str(run_dir)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        listener.wait(timeout=PROBE_WALL_S + 60)
        assert not simulator.poll(), simulator.tail('sim_node')
        assert launch.poll() is None, 'the graph stopped before the robot was driven'
        launch.send_signal(signal.SIGINT)
        stdout, stderr = launch.communicate(timeout=60)
    finally:
        if launch.poll() is None:
            launch.kill()
        codes = simulator.stop(signal.SIGINT, timeout=15.0)
    seen = json.loads((tmp_path / 'seen.json').read_text())
    # The graph ran until stopped with every node alive (a node that dies stops it
    # early, exit 1). The exit codes at shutdown are left to the node tests: under load
    # rclpy can raise from take_message while a node shuts down (seen here once; as in
    # ros/joint_state_publisher#117).
    assert seen['until_reached'], 'the robot was not commanded for 16 s of sim time'
    assert launch.returncode == 0, stdout + stderr
    assert 'while the graph was running' not in stderr, stderr
    assert codes == {'sim_node': 0}
    # No simulator was launched: the graph's own nodes are the five others, and the
    # only sim_node in the ROS graph is the robot started above.
    assert 'not started: sim_node (sim is not mujoco)' in stdout
    logs = sorted(path.stem for path in (run_dir / 'logs').glob('*.log'))
    assert logs == ['adaptive_dynamics_node'] + ['bag_recorder'] * renamed + [
        'mppi_controller_node', 'reference_node', 'state_estimator_node']
    assert seen['nodes']['sim_node'] == 1 and seen['nodes']['mppi_controller_node'] == 1
    # The commands reach the robot on its own topic, and the robot never had to go on
    # without one (a zero command after lockstep_timeout_s).
    stamps = np.array([entry[0] for entry in seen['cmd']])
    assert len(stamps) >= 50, f'{len(stamps)} commands reached the robot'
    simulation = statuses(seen, 'sim_node: simulation')
    assert simulation and all(status['values']['lockstep_timeouts'] == '0'
                              for _, status in simulation)
    # The robot moves along the figure-8 of the reference node while the graph commands
    # it (before the first command it stands where the path starts; after the graph
    # stops, where it was left).
    scale = yaml.safe_load((ROOT / 'config' / 'reference_node.yaml').read_text())
    tracker = PathTracker(ReferencePath.make('figure8', scale['/**']['ros__parameters']['scale']))
    # With the shipped GrBAL model, over the first 15 s of sim time it was commanded.
    first = next(entry[3] for entry in seen['odom'] if entry[0] >= stamps.min())
    commanded = [entry for entry in seen['odom'] if stamps.min() <= entry[0] <= stamps.max()
                 and entry[3] <= first + 15.0]
    distances = [tracker.project(np.array(entry[1:3]))[1] for entry in commanded[::5]]
    assert tracker.path.arclength[tracker.index] > 1.0          # m along the path
    assert np.mean(distances) < 0.05                            # m from it, on average
    if renamed:
        messages, problems = load_messages([str(run_dir / 'bag')],
                                           topics=['/odom', '/joint_states', '/cmd'])
        assert not problems
        assert {message.topic for message in messages} == {'/odom', '/joint_states', '/cmd'}
