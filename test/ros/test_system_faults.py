"""
Faults in the running graph: a dead adaptation node, NaN odometry, a stopped simulator.

The design's rules: the controller continues on theta* when model updates stop and
says so in diagnostics; bad messages are dropped and counted; stale state makes the
controller send a zero command.

The graph runs in real time (the watchdogs under test are real-time ones), but each
fault is injected once the graph has reached a point in sim time, as a listener in
this process (test/helpers/graph_watch.py) sees it, and what is asserted is on sim-time
stamps, counts and order: every state in an interval of sim time is answered, the
diagnostics stamped in it say theta*, the zero commands come after the last fresh
state. The wall timeouts only bound each wait, so a loaded machine makes the run
longer, not different.
"""

import os
import signal
import time

from graph_watch import GraphWatch
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.ros.graph import build_graph
from meta_mpc_ros.ros.graph.process import GraphProcess
import numpy as np
import pytest

pytestmark = pytest.mark.slow
# An adapted model older than this (sim s) is not used: theta* is.
MODEL_TIMEOUT_S = load_robot_config('millirobot').controller.model_timeout_s
WAIT_S = 180.0      # wall s: the most any one stage may take (start-up included)
ON_THETA_S = 3.0    # sim s of control on theta* before the NaN odometry, and after it


def test_dead_adapter_nan_odometry_and_stopped_sim(tmp_path, graph_env, tiny_models):
    graph = build_graph({'checkpoint': str(tiny_models['grbal']), 'record': False},
                        run_dir=tmp_path / 'run')
    with GraphWatch(graph_env) as watch:
        seen = watch.seen
        nodes = GraphProcess(graph.local_nodes, graph.log_dir, env=graph_env).start()
        pids = nodes.pids
        try:
            # The graph controls with adapted models: a second of answers after the first.
            watch.wait_until(lambda: seen['model'] and watch.newest_answer() >=
                             seen['model'][0][2] + 1.0, WAIT_S, 'control with adapted models')
            os.kill(pids['adaptive_dynamics_node'], signal.SIGKILL)
            killed_at = watch.newest_state()
            # ON_THETA_S of control past the time the last update went stale, the NaN
            # odometry, its drop reported, and ON_THETA_S more.
            watch.wait_until(lambda: watch.newest_answer() >= killed_at + MODEL_TIMEOUT_S
                             + 1.0 + ON_THETA_S, WAIT_S, 'control after the kill')
            updates_after_kill = len(seen['model'])
            watch.publish_nan_odometry()
            nan_at = watch.newest_state()
            watch.wait_until(lambda: any(int(status['values'].get('dropped_odom', 0)) >= 1
                                         for _, _, status in watch.statuses(
                                             'state_estimator_node: estimate')),
                             WAIT_S, 'the NaN odometry dropped')
            watch.wait_until(lambda: watch.newest_answer() >= nan_at + ON_THETA_S, WAIT_S,
                             'control after the NaN odometry')
            # Stop the simulator: no state is fresh any more, in sim or wall time.
            os.kill(pids['sim_node'], signal.SIGSTOP)
            stopped_at, stopped_wall = len(seen['cmd']), time.monotonic()

            def stopped_and_said_so():
                zeros = [entry for entry in seen['cmd'][stopped_at:] if not any(entry[1:])]
                return len(zeros) >= 5 and any(
                    t > zeros[0][0] + 0.2 and status['values']['zero_command'] == 'true'
                    for t, _, status in watch.statuses('mppi_controller_node: control'))
            watch.wait_until(stopped_and_said_so, WAIT_S,
                             'five zero commands after the simulator stopped, reported')
            watch.spin_for(1.0)     # what is on its way
            still_running = {ended.name for ended in nodes.poll()}
            os.kill(pids['sim_node'], signal.SIGCONT)
        finally:
            nodes.stop(signal.SIGINT, timeout=15.0)
    # Only the killed node is gone; the others kept running through every fault.
    assert still_running == {'adaptive_dynamics_node'}

    # Killed: model updates stop (none arrived in the ON_THETA_S and more of sim time
    # that followed), and commands continue on theta*.
    assert len(seen['model']) == updates_after_kill
    last_update = max(stamp for _, _, stamp in seen['model'])
    on_theta = (last_update + MODEL_TIMEOUT_S + 0.5, watch.newest_state() - 0.5)
    assert on_theta[1] - on_theta[0] >= 2 * ON_THETA_S - 1.0, on_theta
    # Every state of that sim-time interval is answered, once and in order, and each
    # answer answers a state the estimator published.
    states = [stamp for _, stamp in seen['states'] if on_theta[0] < stamp < on_theta[1]]
    answered = [entry[1] for entry in seen['answers'] if on_theta[0] < entry[1] < on_theta[1]]
    assert answered == states, (len(answered), len(states))
    assert any(max(entry[2:]) > 0.0 for entry in seen['answers']       # not just stops
               if on_theta[0] < entry[1] < on_theta[1])
    # The controller's diagnostics stamped in that interval all say theta*, as a warning.
    fallback = [status for _, stamp, status in watch.statuses('mppi_controller_node: control')
                if on_theta[0] < stamp < on_theta[1]]
    assert fallback and all(status['values']['fallback_to_meta_model'] == 'true'
                            for status in fallback)
    assert all(status['level'] == 'warn' for status in fallback)
    # The NaN odometry is dropped and counted by the estimator (waited for above), and
    # control went on past it: answers ON_THETA_S after it (waited for above).

    # Simulator stopped: the last fresh state is answered (a plan may land after the
    # stop), no later state is, and then the controller's wall-clock watchdog sends zero
    # commands, only zero ones, and says so.
    assert watch.newest_answer() == watch.newest_state()
    after = np.array([entry[1:] for entry in seen['cmd'][stopped_at:]])
    first_zero = next(i for i, command in enumerate(after) if not command.any())
    assert len(after) - first_zero >= 5 and np.all(after[first_zero:] == 0.0)
    zero_from = seen['cmd'][stopped_at + first_zero][0]
    control = [(t, status) for t, _, status in watch.statuses('mppi_controller_node: control')]
    stopped = [status for t, status in control if t > zero_from + 0.2]
    assert zero_from > stopped_wall
    assert stopped and all(status['values']['zero_command'] == 'true' for status in stopped)
