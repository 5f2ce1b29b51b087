"""
Lockstep: the node graph gives the in-process episode, bit for bit, under any load.

Each graph here is every node in its own process over real DDS (config/graph.yaml with
lockstep:=true), driven by meta_mpc_ros.ros.graph.episode; the twin is
pipeline.episodes.run_episode with the same checkpoint, adapter, task, condition and
seed, on one torch thread as the nodes plan.
"""

import pathlib
import subprocess
import sys

from in_process import in_process
from meta_mpc_ros.core.reference import PathTracker, ReferencePath
from meta_mpc_ros.ros.graph.episode import graph_episode, twin_request
from meta_mpc_ros.shipped import resolve_checkpoint
from meta_mpc_ros.sim.millirobot_env import DEFAULT_TASK_SCALES
import numpy as np
import pytest

pytestmark = pytest.mark.slow
STEPS = 50


@pytest.mark.parametrize('adapter', ['mb', 'grbal'])
def test_the_lockstep_graph_equals_the_in_process_episode(adapter, tmp_path, graph_env,
                                                          tiny_models):
    states, actions = in_process('millirobot', tiny_models[adapter], adapter, 'carpet', 7, STEPS,
                                 task='figure8')
    graph = graph_episode(twin_request(checkpoint=tiny_models[adapter], adapter=adapter,
                                       task='figure8', condition='carpet', seed=7,
                                       steps=STEPS, run_dir=tmp_path, env=graph_env))
    steps = graph.state_steps()
    assert len(graph.actions) == STEPS and steps[-1] == STEPS and len(steps) >= STEPS
    # Bit for bit: the same physics, the same windows, the same model, the same plan.
    np.testing.assert_array_equal(graph.states, states[steps])
    np.testing.assert_array_equal(graph.actions, actions)
    # Every node started and stopped (SIGINT) without a traceback, a warning about the
    # discovery variables (the distro's own one is set: ros/discovery.py), a dropped
    # message, or a wait that ran out.
    for log in pathlib.Path(graph.logs).glob('*.log'):
        text = log.read_text()
        for sign in ('Traceback', 'Exception ignored', 'InvalidHandle', 'context is invalid',
                     'ROS_LOCALHOST_ONLY is deprecated', 'dropped',
                     'no model for the window', 'lockstep: no command'):
            assert sign not in text, (log.name, text[-2000:])


def test_a_change_of_world_and_a_carried_adapter_stay_equal_under_load(tmp_path, graph_env,
                                                                       tiny_models):
    # MB+DE carries its parameters from window to window, the world changes at step 25,
    # and two CPU-busy processes compete with the graph: still the in-process episode.
    switch = (25, 'missing_leg')
    states, actions = in_process('millirobot', tiny_models['mb'], 'de', 'carpet', 3, 40,
                                 task='straight', switch=switch)
    busy = [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(2)]
    try:
        graph = graph_episode(twin_request(checkpoint=tiny_models['mb'], adapter='de',
                                           task='straight', condition='carpet', seed=3,
                                           steps=40, run_dir=tmp_path, env=graph_env,
                                           switch=switch))
    finally:
        for process in busy:
            process.kill()
            process.wait()
    np.testing.assert_array_equal(graph.states, states[graph.state_steps()])
    np.testing.assert_array_equal(graph.actions, actions)


def test_the_graph_tracks_the_figure8_on_carpet_within_2_cm(tmp_path, graph_env):
    # The shipped GrBAL model through the whole graph, 15 s of sim time: the precision
    # in-process evaluation reports for this cell (a few mm), not merely "it moves".
    checkpoint = resolve_checkpoint('', 'millirobot', 'grbal')
    graph = graph_episode(twin_request(checkpoint=checkpoint, adapter='grbal',
                                       task='figure8', condition='carpet', seed=0,
                                       steps=150, run_dir=tmp_path, env=graph_env))
    tracker = PathTracker(ReferencePath.make('figure8', DEFAULT_TASK_SCALES['figure8']))
    distances = [tracker.project(state[:2])[1] for state in graph.states]
    assert tracker.path.arclength[tracker.index] > 2.0      # m along the path
    assert np.mean(distances) <= 0.02, np.mean(distances)


def test_a_graph_that_stops_answering_gets_zero_commands_and_a_warning(tmp_path, graph_env):
    # The lockstep simulator alone, no controller: after the start-up wait (10 x
    # lockstep_timeout_s) it applies a zero command every lockstep_timeout_s, says so on
    # /diagnostics, and sim time goes on: no silent freeze.
    import dataclasses
    import time

    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor

    from diagnostic_msgs.msg import DiagnosticArray
    from meta_mpc_ros.ros.diagnostics import read_status
    from meta_mpc_ros.ros.graph import build_graph
    from meta_mpc_ros.ros.graph.process import GraphProcess
    from sensor_msgs.msg import JointState
    sim = build_graph({'lockstep': True}, run_dir=tmp_path).node('sim_node')
    sim = dataclasses.replace(sim, parameters=dict(sim.parameters, lockstep_timeout_s=0.3))
    context = Context()
    rclpy.init(context=context, domain_id=int(graph_env['ROS_DOMAIN_ID']))
    node = rclpy.create_node('timeout_listener', context=context)
    applied, statuses = [], []
    node.create_subscription(JointState, '/meta_mpc/applied_command',
                             lambda m: applied.append(list(m.velocity)), 10)
    node.create_subscription(DiagnosticArray, '/diagnostics', lambda m: statuses.extend(
        read_status(s) for s in m.status if 'simulation' in s.name), 10)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    process = GraphProcess([sim], tmp_path / 'logs', env=graph_env).start()
    try:
        # Until three zero commands were both reported and heard (under load this
        # listener may discover the simulator's publishers after its first ones).
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline and not (len(applied) >= 3 and statuses and int(
                statuses[-1]['values'].get('lockstep_timeouts', 0)) >= 3):
            executor.spin_once(timeout_sec=0.1)
        assert not process.poll()
    finally:
        process.stop(timeout=10.0)
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
    assert len(applied) >= 3 and all(command == [0.0, 0.0] for command in applied)
    assert statuses[-1]['level'] == 'warn' and \
        int(statuses[-1]['values']['lockstep_timeouts']) >= 3
    assert float(statuses[-1]['values']['sim_time_s']) >= 0.2
