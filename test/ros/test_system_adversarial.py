"""
The running graph against an adversary on its DDS domain (issue 14, items 1-5, 7, 12, 13).

Each node is its own process; so is the adversary (test/helpers/adversary.py), which
sends huge states and odometry, out-of-range commands, malformed and replayed model
updates, measurements stamped in the future, an empty reference path and a double-array
parameter, then floods model updates while the controller is stopped. Afterwards
every node must have lived through it, /cmd must have stayed finite, the controller
must have driven the robot again, and each bad input must be counted in /diagnostics.
"""

import json
import math
import os
import pathlib
import signal
import subprocess
import sys
import time

from graph_listener import control_periods
from meta_mpc_ros.data.bag_reader import load_messages
from meta_mpc_ros.ros.graph import build_graph
from meta_mpc_ros.ros.graph.process import GraphProcess
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
ADVERSARY = ROOT / 'test' / 'helpers' / 'adversary.py'
# The adversary's timeline (test/helpers/adversary.py): attacks end at 12 s, the
# model flood starts at 18 s and the adversary stops listening at 23 s.
STOP_CONTROLLER_AT = 19.0
STOP_GRAPH_AT = 22.0
pytestmark = pytest.mark.slow


def last_values(seen, name):
    """Return the values of the newest /diagnostics status whose name contains `name`."""
    found = [status for _, status in seen['diagnostics'] if name in status['name']]
    assert found, f'no /diagnostics status from {name}'
    values = {}
    for key, value in found[-1]['values'].items():
        try:
            values[key] = float(value)
        except ValueError:
            values[key] = value
    return values


def test_the_graph_lives_through_every_bad_input(tmp_path, graph_env, tiny_models):
    env = graph_env
    graph = build_graph({'checkpoint': str(tiny_models['grbal']), 'record': True},
                        run_dir=tmp_path / 'run')
    out = tmp_path / 'seen.json'
    adversary = subprocess.Popen([sys.executable, str(ADVERSARY), str(out)], env=env,
                                 stdout=subprocess.PIPE, text=True)
    assert adversary.stdout.readline().strip() == 'ready'
    start = time.monotonic()
    nodes = GraphProcess(graph.local_nodes, graph.log_dir, env=env).start()
    try:
        time.sleep(STOP_CONTROLLER_AT - (time.monotonic() - start))
        ended_early = nodes.poll()
        # SIGINT to the controller alone, in the middle of the model flood.
        os.kill(nodes.pids['mppi_controller_node'], signal.SIGINT)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and not nodes.poll():
            time.sleep(0.1)
        controller_exit = {ended.name: ended.returncode for ended in nodes.poll()}
        # The rest runs on without commands: the simulator must stop the legs itself.
        time.sleep(max(0.0, STOP_GRAPH_AT - (time.monotonic() - start)))
    finally:
        codes = nodes.stop(signal.SIGINT, timeout=15.0)
    adversary.wait(timeout=60)
    seen = json.loads(out.read_text())
    sent = {what for _, what in seen['sent']}

    # Every attack was made, and every node was alive when it ended.
    assert sent == {'states', 'cmd', 'replayed', 'future', 'path'}, sent
    assert ended_early == []
    # The controller, stopped during the flood, exited cleanly (no rclpy error), and so
    # did every other node.
    assert controller_exit == {'mppi_controller_node': 0}
    assert all(code == 0 for code in codes.values()), codes

    # /cmd stayed finite; apart from the adversary's own [1e9, 1e9], within [0, 25].
    commands = seen['cmd']
    assert commands and all(math.isfinite(v) for entry in commands for v in entry[1:])
    ours = [entry for entry in commands if entry[1:] != [1e9, 1e9]]
    assert all(0.0 <= v <= 25.0 for entry in ours for v in entry[1:])
    # After the last attack (12 s) the controller drove the robot again: a command for
    # nearly every control period of the sim time that passed (fewer under load), not
    # all zero, and the robot moved.
    after = [entry for entry in ours if 13.0 < entry[0] < STOP_CONTROLLER_AT]
    periods = control_periods(seen['odom'], 13.0, STOP_CONTROLLER_AT)
    assert periods >= 10 and len(after) >= 0.7 * periods, (len(after), periods)
    assert any(max(entry[1:]) > 0.0 for entry in after)
    positions = [entry for entry in seen['odom'] if 13.0 < entry[0] < STOP_CONTROLLER_AT]
    moved = math.dist(positions[0][1:3], positions[-1][1:3])
    assert moved > 0.02, moved
    # Its last command, sent on the way out, was a zero command.
    assert [entry[1:] for entry in commands if entry[0] > STOP_CONTROLLER_AT][-1] == [0.0, 0.0]

    # The parameter set as `ros2 param set` sends it (a double array) was taken.
    assert seen['set_noise_sigma'] == [True, '']

    # Each bad input was counted: huge and 1e8 states (read / planning), malformed and
    # replayed updates, the empty path, huge and future-stamped measurements.
    controller = last_values(seen, 'mppi_controller_node: control')
    assert controller['dropped_state'] >= 1 and controller['dropped_plan'] >= 1
    assert controller['dropped_model'] >= 5 and controller['dropped_reference'] >= 1
    estimator = last_values(seen, 'state_estimator_node: estimate')
    assert estimator['dropped_odom'] >= 4 and estimator['dropped_joint_states'] >= 3
    # Every node reports on /diagnostics, the three that did not before included.
    for name in ('sim_node: simulation', 'reference_node: reference',
                 'bag_recorder: recording', 'adaptive_dynamics_node: adaptation'):
        last_values(seen, name)
    assert last_values(seen, 'bag_recorder: recording')['write_errors'] == 0
    # With the controller gone, the simulator stopped the legs after command_timeout_s.
    simulation = [status for t, status in seen['diagnostics']
                  if t > STOP_CONTROLLER_AT + 1.5 and status['name'] == 'sim_node: simulation']
    assert simulation and all(status['level'] == 'warn' for status in simulation)
    assert int(simulation[-1]['values']['command_timeouts']) >= 1

    # Nothing recorded was lost: the bag closed and reads back, attacks included.
    messages, problems = load_messages([str(graph.bag_dir)], topics=('/cmd',))
    assert problems == [] and any(list(m.message.data) == [1e9, 1e9] for m in messages)
