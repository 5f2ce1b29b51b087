"""
The running graph against an adversary on its DDS domain (issue 14, items 1-5, 7, 12, 13).

Each node is its own process; so is the adversary (test/helpers/adversary.py), which
sends huge states and odometry, out-of-range commands, malformed and replayed model
updates, measurements stamped in the future, an empty reference path and a double-array
parameter, then floods model updates while the controller is stopped. Afterwards
every node must have lived through it, /cmd must have stayed finite, the controller
must have driven the robot again, and each bad input must be counted in /diagnostics.

The graph runs in real time (the simulator's command timeout is under test), but the
adversary's timeline is the graph's sim time since its first planned command, the
controller is stopped when the flood has begun, and what is asserted is counted in
sim time and against the states the estimator published: a loaded machine makes the
run longer, not different. The wall timeouts only bound the waits.
"""

import json
import math
import os
import pathlib
import signal
import subprocess
import sys
import time

from meta_mpc_ros.data.bag_reader import load_messages
from meta_mpc_ros.ros.graph import build_graph
from meta_mpc_ros.ros.graph.process import GraphProcess
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
ADVERSARY = ROOT / 'test' / 'helpers' / 'adversary.py'
# The adversary's timeline (test/helpers/adversary.py, sim s since the first planned
# command): attacks end at 7 s, the model flood starts at 13 s (and is said to have
# begun 1 s into it); it stops listening 3 s after it is told that the controller
# stopped.
ATTACKS_END = 7.0
FLOOD = 13.0
WAIT_S = 300.0      # wall s: the most the graph may take to reach the flood
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
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert adversary.stdout.readline().strip() == 'ready'
    nodes = GraphProcess(graph.local_nodes, graph.log_dir, env=env).start()
    try:
        # Every attack is made; 1 s into the flood, the controller is stopped.
        # (The adversary gives up after its own MAX_WALL_S: then no 'flooding'.)
        assert adversary.stdout.readline().strip() == 'flooding'
        ended_early = nodes.poll()
        # SIGINT to the controller alone, in the middle of the model flood.
        os.kill(nodes.pids['mppi_controller_node'], signal.SIGINT)
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline and not nodes.poll():
            time.sleep(0.1)
        controller_exit = {ended.name: ended.returncode for ended in nodes.poll()}
        # The rest runs on without commands: the simulator must stop the legs itself.
        # The adversary marks this place on its timeline and listens 3 s of sim on.
        adversary.stdin.write('controller stopped\n')
        adversary.stdin.flush()
        adversary.wait(timeout=WAIT_S)
    finally:
        codes = nodes.stop(signal.SIGINT, timeout=15.0)
        if adversary.poll() is None:
            adversary.kill()
    seen = json.loads(out.read_text())
    sent = {what for _, what in seen['sent']}
    stopped = seen['controller_stopped']

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
    # After the last attack the controller drove the robot again: every state the
    # estimator published from 1 s after it to 1 s before the flood (a plan under way
    # when the controller is stopped is never sent) was answered, once and in order;
    # the commands were not all zero, and the robot moved.
    window = (ATTACKS_END + 1.0, FLOOD - 1.0)

    def stamped_in_window(entries):
        start = seen['first_command']
        return [stamp for _, stamp in entries if window[0] < stamp - start < window[1]]
    states = stamped_in_window(seen['states'])
    assert len(states) >= 30 and stamped_in_window(seen['answers']) == states
    after = [entry for entry in ours if window[0] < entry[0] < window[1]]
    assert any(max(entry[1:]) > 0.0 for entry in after)
    positions = [entry for entry in seen['odom'] if window[0] < entry[0] < window[1]]
    moved = math.dist(positions[0][1:3], positions[-1][1:3])
    assert moved > 0.02, moved
    # Its last command, sent on the way out during the flood, was a zero command.
    assert commands[-1][0] >= FLOOD and commands[-1][1:] == [0.0, 0.0]

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
    # With the controller gone, the simulator stopped the legs after command_timeout_s
    # (0.5 s of sim time; its reports 1.5 s of sim time after the controller exited).
    simulation = [status for t, status in seen['diagnostics']
                  if t > stopped + 1.5 and status['name'] == 'sim_node: simulation']
    assert simulation and all(status['level'] == 'warn' for status in simulation)
    assert int(simulation[-1]['values']['command_timeouts']) >= 1

    # Nothing recorded was lost: the bag closed and reads back, attacks included.
    messages, problems = load_messages([str(graph.bag_dir)], topics=('/cmd',))
    assert problems == [] and any(list(m.message.data) == [1e9, 1e9] for m in messages)
