"""
The paper's half-cheetah in the node graph, over real DDS (robot:=half_cheetah).

sim_node runs the half-cheetah's MuJoCo environment (sim.legged.node_sim), the estimator
builds its 20-entry state from /joint_states (all nine joints) and /odom (the centre of
mass), the adaptive dynamics adapts the shipped models and the controller publishes six
torques on /cmd at 100 Hz of sim time; no reference node runs (its cost needs no path).
In lockstep the graph gives the in-process episode of the same seed bit for bit, a
joint disabled mid-episode included.
"""

import json
import pathlib
import subprocess
import sys

from meta_mpc_ros.core.checkpoint import CheckpointError, load_checkpoint
from meta_mpc_ros.data.bag_reader import load_messages
from meta_mpc_ros.pipeline.agents import AdaptiveAgent
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.pipeline.episodes import EpisodeRequest, run_episode
from meta_mpc_ros.robots import robot_description
from meta_mpc_ros.ros.conversions import stamp_to_seconds
from meta_mpc_ros.ros.graph.episode import graph_episode, twin_request
from meta_mpc_ros.shipped import load_graph_checkpoint, shipped_checkpoint
from meta_mpc_ros.sim.registry import make_env
import numpy as np
import pytest
import torch

pytestmark = pytest.mark.slow
ROBOT = robot_description('half_cheetah')
STEPS = 60
SWITCH = (30, 'disabled_joint=0')


def in_process(adapter, seed, steps, switch):
    """Return the in-process episode's states (T+1, nx) and actions (T, nu)."""
    config = load_robot_config(ROBOT.name)
    env = make_env(ROBOT.name, condition='nominal')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        agent = AdaptiveAgent(load_checkpoint(shipped_checkpoint(ROBOT.name, adapter)),
                              adapter, config.controller, config.cost_terms(env),
                              config.training.past_steps, config.adapter_settings(adapter))
        episode = run_episode(EpisodeRequest(env=env, policy=agent, seed=seed, steps=steps,
                                             options={'condition': 'nominal'},
                                             switch=switch, until_done=False))
    finally:
        torch.set_num_threads(threads)
        env.close()
    return np.array(episode.states), np.array(episode.actions)


@pytest.mark.parametrize('adapter', ['mb', 'grbal'])
def test_the_half_cheetah_graph_equals_in_process_and_runs_forward(adapter, tmp_path,
                                                                   graph_env):
    seed = 11
    states, actions = in_process(adapter, seed, STEPS, SWITCH)
    graph = graph_episode(twin_request(
        checkpoint=shipped_checkpoint(ROBOT.name, adapter), adapter=adapter, task='figure8',
        condition='nominal', seed=seed, steps=STEPS, run_dir=tmp_path, env=graph_env,
        switch=SWITCH, robot=ROBOT.name, record=True))
    steps = graph.state_steps()
    assert len(graph.actions) == STEPS and steps[-1] == STEPS
    # One command per 0.01 s of sim time, six torques each.
    np.testing.assert_allclose(np.diff(graph.action_stamps), ROBOT.control_dt, atol=1e-6)
    assert graph.actions.shape == (STEPS, ROBOT.action.dim)
    # Bit for bit, across the joint disabled at step 30.
    np.testing.assert_array_equal(graph.states, states[steps])
    np.testing.assert_array_equal(graph.actions, actions)
    # The cheetah ran forward (its centre of mass, from /odom): 0.04-0.1 m in these 0.6 s
    # from rest, half of them with a joint disabled; standing still or falling back fails.
    x = ROBOT.state.index('torso_com_x')
    assert graph.states[-1, x] - graph.states[0, x] > 0.02
    # The bag holds /cmd (6 values), /joint_states (every joint) and no reference path.
    messages, problems = load_messages([str(pathlib.Path(tmp_path) / 'bag')])
    assert not problems
    topics = {entry.topic for entry in messages}
    assert '/meta_mpc/reference' not in topics
    commands = [entry.message for entry in messages if entry.topic == '/cmd']
    assert len(commands) >= STEPS - 5 and all(len(c.data) == ROBOT.action.dim
                                              for c in commands)
    joints = [entry.message for entry in messages if entry.topic == '/joint_states']
    assert list(joints[-1].name) == list(ROBOT.joints)
    assert stamp_to_seconds(joints[-1].header.stamp) >= (STEPS - 1) * ROBOT.control_dt
    # (The recorder drops what comes before the first /clock, and says so.)
    for log in set(pathlib.Path(graph.logs).glob('*.log')) - {
            pathlib.Path(graph.logs) / 'bag_recorder.log'}:
        text = log.read_text()
        for sign in ('Traceback', 'dropped', 'no model for the window', 'lockstep: no command'):
            assert sign not in text, (log.name, text[-2000:])


def test_another_robots_checkpoint_is_refused_in_one_line():
    with pytest.raises(CheckpointError) as refused:
        load_graph_checkpoint(shipped_checkpoint('millirobot', 'grbal'), 'cpu', ROBOT.name)
    assert "trained for robot 'millirobot', not 'half_cheetah'" in str(refused.value)
    assert '\n' not in str(refused.value)


def test_the_demo_prints_forward_speed_and_model_error_per_adapter(tmp_path, graph_env):
    # `meta-mpc demo --robot half_cheetah`, short: two adapters, a joint disabled at 1 s.
    result = subprocess.run(
        [sys.executable, '-m', 'meta_mpc_ros.cli', 'demo', '--robot', ROBOT.name,
         '--adapters', 'grbal,mb', '--switch-at', '1.0', '--duration', '2.0',
         '--out', str(tmp_path)], env=graph_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert 'then disabled_joint=0 at 1 s of 2 s' in result.stdout
    table = (tmp_path / 'table.md').read_text()
    assert '| adapter | forward speed before (m/s) | after (m/s) | model error before |' in table
    results = json.loads((tmp_path / 'results.json').read_text())
    assert set(results) == {'grbal', 'mb'}
    for adapter, numbers in results.items():
        assert numbers['forward_speed_before_mps'] > 0.1, (adapter, numbers)  # it ran
        assert numbers['model_error_after'] is not None
        assert f'| {adapter} | {numbers["forward_speed_before_mps"]:.3f} |' in table
        assert numbers['conditions'][-1] == 'disabled_joint=0'
    assert (tmp_path / 'demo.png').stat().st_size > 10000
