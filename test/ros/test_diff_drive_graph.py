"""
The whole graph on the differential-drive base, over real DDS, in lockstep.

`robot:=diff_drive lockstep:=true` runs sim_node's MuJoCo base, the estimator, the
adaptive dynamics, the controller (publishing geometry_msgs/Twist on /cmd_vel) and the
reference node with the shipped models, as `meta-mpc launch robot:=diff_drive
lockstep:=true` does; a listener process (test/helpers/graph_probe.py) records /cmd_vel,
/odom and the stamped answers. The graph runs until the base has been commanded for
SIM_S of sim time, however long the machine takes (at most PROBE_WALL_S): what is
asserted is counted in sim time and against the states answered, never in wall time.
"""

import json
import signal

from graph_listener import CONTROL_RATE_HZ, probe, reached, statuses
from meta_mpc_ros.core.reference import PathTracker, ReferencePath
from meta_mpc_ros.data.bag_reader import load_messages
from meta_mpc_ros.robots import robot_description
from meta_mpc_ros.ros.graph import build_graph
from meta_mpc_ros.ros.graph.process import GraphProcess
import numpy as np
import pytest

pytestmark = pytest.mark.slow
ROBOT = robot_description('diff_drive')
SIM_S = 20.0            # sim seconds the base is commanded for
PROBE_WALL_S = 300      # the most wall time a run may take (about 30 s on an idle machine)


def test_the_graph_drives_the_base_on_cmd_vel_and_stops_it(tmp_path, graph_env):
    graph = build_graph({'robot': ROBOT.name, 'task': 'figure8', 'lockstep': True},
                        run_dir=tmp_path / 'run')
    # It listens on through the shutdown, to hear the controller's last zero Twist.
    listener = probe(graph_env, PROBE_WALL_S, tmp_path / 'seen.json', until_commanded=SIM_S,
                     linger=15.0)
    nodes = GraphProcess(graph.local_nodes, graph.log_dir, env=graph_env).start()
    try:
        assert reached(listener), f'the base was not commanded for {SIM_S} s of sim time'
        exited = nodes.poll()
        assert not exited, [(e, nodes.tail(e.name)) for e in exited]
    finally:
        codes = nodes.stop(signal.SIGINT, timeout=15.0)
        listener.wait(timeout=60)
    seen = json.loads((tmp_path / 'seen.json').read_text())
    assert all(code == 0 for code in codes.values()), codes
    commands = np.array(seen['cmd_vel'])            # [wall s, linear.x, angular.z]
    moving = commands[np.any(commands[:, 1:] != 0.0, axis=1)]
    assert len(moving) >= 50, f'{len(moving)} planned commands'
    # One command answers every control period of sim time (10 Hz), none missing and
    # none twice: the answered state stamps are one period apart over SIM_S, and the
    # simulator never had to go on without an answer (a zero command after
    # lockstep_timeout_s).
    answers = np.round(np.array(seen['answers']) * CONTROL_RATE_HZ).astype(int)
    periods = np.unique(answers)
    assert len(periods) >= SIM_S * CONTROL_RATE_HZ, periods[[0, -1]]
    assert np.array_equal(periods, np.arange(periods[0], periods[-1] + 1))
    simulation = statuses(seen, 'sim_node: simulation')
    assert simulation and all(status['values']['lockstep_timeouts'] == '0'
                              for _, status in simulation)
    end = moving[-1, 0]
    # Every command is within the bounds, and changes by at most the acceleration
    # limits over its control period (a skipped command would show as twice the step;
    # none is).
    low, high = np.array(ROBOT.action.low), np.array(ROBOT.action.high)
    assert np.all(moving[:, 1:] >= low - 1e-12) and np.all(moving[:, 1:] <= high + 1e-12)
    steps = np.abs(np.diff(moving[:, 1:], axis=0))
    assert np.all(steps <= np.array(ROBOT.acceleration_limits) / CONTROL_RATE_HZ * 2 + 1e-9)
    assert np.median(steps[:, 0]) < ROBOT.acceleration_limits[0] / CONTROL_RATE_HZ
    # The base moved along the figure-8 (the reference node's, lobes of 0.5 m).
    tracker = PathTracker(ReferencePath.make('figure8', 0.5))
    odom = np.array(seen['odom'])
    distances = [tracker.project(point)[1] for point in odom[::5, 1:3]]
    assert tracker.path.arclength[tracker.index] > 1.5          # m along the path
    assert np.mean(distances) < 0.1                             # m from it, on average
    # On shutdown the controller's last word is a zero Twist, after every planned one.
    assert commands[-1, 0] > end and np.all(commands[-1, 1:] == 0.0)
    # The bag holds the Twist commands, as training from it reads them.
    messages, problems = load_messages([str(graph.bag_dir)], topics=['/cmd_vel'])
    assert not problems and len(messages) >= 50
    assert messages[0].message.__class__.__name__.endswith('Twist')
