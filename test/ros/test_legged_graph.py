"""
The paper's legged robots in the node graph, over real DDS (robot:=half_cheetah, ant).

sim_node runs the robot's MuJoCo environment (sim.legged.node_sim), the estimator
builds its state from /joint_states and /odom (the centre of mass; the ant's
orientation and twist too), the adaptive dynamics adapts the shipped models and the
controller publishes one torque per actuated joint on /cmd at the robot's control rate
of sim time (100 Hz for the half-cheetah, 50 Hz for the ant); no reference node runs
(their cost needs no path). In lockstep the graph gives the in-process episode of the
same seed bit for bit, a joint disabled (a leg crippled, a hill under the half-cheetah
in its `hills` world) mid-episode included; its bag,
replayed through the estimator as training reads it, gives the same states and trains.
"""

import json
import pathlib
import subprocess
import sys

from in_process import in_process
from meta_mpc_ros.core.checkpoint import CheckpointError, load_checkpoint
from meta_mpc_ros.data.bag_dataset import samples_from_messages
from meta_mpc_ros.data.bag_reader import load_messages
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.robots import robot_description
from meta_mpc_ros.ros.conversions import stamp_to_seconds
from meta_mpc_ros.ros.graph.episode import graph_episode, TERRAIN_TOPIC, twin_request
from meta_mpc_ros.shipped import load_graph_checkpoint, shipped_checkpoint
import numpy as np
import pytest

pytestmark = pytest.mark.slow
HALF_CHEETAH = robot_description('half_cheetah')
STEPS = 100


@pytest.mark.parametrize('robot, adapter, world', [
    ('half_cheetah', 'mb', ''), ('half_cheetah', 'grbal', ''), ('half_cheetah', 'grbal', 'hills'),
    ('ant', 'grbal', '')])
def test_the_legged_graph_equals_in_process_and_runs_forward(robot, adapter, world, tmp_path,
                                                             graph_env):
    robot = robot_description(robot)
    robot_config = load_robot_config(robot.name)
    seed = 11
    # The world's held-out condition (a joint disabled, a leg crippled, the hill) from
    # step 50, so that each world of the bag holds the M + K = 32 transitions a training
    # window needs (training keeps one of them for validation).
    sim = robot.world(world)
    switch = (STEPS // 2, sim.demo_condition)
    checkpoint = shipped_checkpoint(robot.name, adapter)
    states, actions = in_process(robot.name, checkpoint, adapter, 'nominal', seed, STEPS,
                                 switch=switch, environment=sim.environment)
    graph = graph_episode(twin_request(
        checkpoint=checkpoint, adapter=adapter, task='figure8', condition='nominal',
        seed=seed, steps=STEPS, run_dir=tmp_path, env=graph_env, switch=switch,
        robot=robot.name, record=True, world=world))
    steps = graph.state_steps()
    assert len(graph.actions) == STEPS and steps[-1] == STEPS
    # One command per control period of sim time, one torque per actuator each.
    np.testing.assert_allclose(np.diff(graph.action_stamps), robot.control_dt, atol=1e-6)
    assert graph.actions.shape == (STEPS, robot.action.dim)
    # Bit for bit, across the change of world.
    np.testing.assert_array_equal(graph.states, states[steps])
    np.testing.assert_array_equal(graph.actions, actions)
    # It moved forward (its centre of mass, from /odom) in these 1 s (the ant's 2 s)
    # from rest; standing still or falling back fails.
    x = robot.state.index('torso_com_x')
    assert graph.states[-1, x] - graph.states[0, x] > 0.02
    # The bag holds /cmd (a value per actuator), /joint_states (every measured joint)
    # and no reference path.
    messages, problems = load_messages([str(pathlib.Path(tmp_path) / 'bag')])
    assert not problems
    topics = {entry.topic for entry in messages}
    assert '/meta_mpc/reference' not in topics
    # The simulator's latched world label: its start, then the switch, in its world.
    labels = [entry.message.data for entry in messages if entry.topic == TERRAIN_TOPIC]
    assert labels[0] == 'nominal' and labels[-1] == sim.demo_condition, labels
    # The bag's /cmd are the episode's commands in order, from the first the recorder
    # heard to the episode's end (a repeated state's answer is sent again: kept once).
    # Like `ros2 bag record`, the recorder cannot hear what a publisher sends before the
    # two have matched: in lockstep under heavy load that has been up to the controller's
    # first 50 commands (every state is there from t = 0, as checked below).
    recorded = [np.array(entry.message.data) for entry in messages if entry.topic == '/cmd']
    assert all(command.shape == (robot.action.dim,) for command in recorded)
    recorded = [command for i, command in enumerate(recorded)
                if i == 0 or not np.array_equal(command, recorded[i - 1])]
    first = next(i for i, action in enumerate(graph.actions)
                 if np.array_equal(action, recorded[0]))
    assert first <= STEPS // 2
    np.testing.assert_array_equal(recorded[:STEPS - first], graph.actions[first:])
    joints = [entry.message for entry in messages if entry.topic == '/joint_states']
    assert list(joints[-1].name) == list(robot.joints)
    assert stamp_to_seconds(joints[-1].header.stamp) >= (STEPS - 1) * robot.control_dt
    # (The recorder drops what comes before the first /clock, and says so.)
    for log in set(pathlib.Path(graph.logs).glob('*.log')) - {
            pathlib.Path(graph.logs) / 'bag_recorder.log'}:
        text = log.read_text()
        for sign in ('Traceback', 'dropped', 'no model for the window', 'lockstep: no command'):
            assert sign not in text, (log.name, text[-2000:])
    # The bag replayed through the estimator (training's reader) gives the in-process
    # states to the bit, and trains a model for this robot.
    samples, _, drops = samples_from_messages(messages, robot.control_dt,
                                              robot_config.training.past_steps, robot.name)
    replayed = {int(round(sample.stamp / robot.control_dt)): sample.state for sample in samples
                if sample.stamp < STEPS * robot.control_dt + 1e-6}
    # (In lockstep the recorder hears the episode from t = 0: sim time 0 is a time.)
    assert drops == 0 and 0 in replayed and len(replayed) >= STEPS - 5
    for step, state in replayed.items():
        np.testing.assert_array_equal(state, states[step])
    if adapter == 'grbal':
        out = tmp_path / 'from_bag.pt'
        trained = subprocess.run(
            [sys.executable, '-m', 'meta_mpc_ros.cli', 'train', '--robot', robot.name,
             '--method', 'mb', '--data', str(pathlib.Path(tmp_path) / 'bag'),
             '--iterations', '3', '--out', str(out)],
            env=graph_env, capture_output=True, text=True, timeout=300)
        assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
        assert load_checkpoint(out).state_spec.names == robot.state.names


@pytest.mark.parametrize('robot, other', [('half_cheetah', 'millirobot'),
                                          ('ant', 'half_cheetah')])
def test_another_robots_checkpoint_is_refused_in_one_line(robot, other):
    with pytest.raises(CheckpointError) as refused:
        load_graph_checkpoint(shipped_checkpoint(other, 'grbal'), 'cpu', robot)
    assert f"trained for robot '{other}', not '{robot}'" in str(refused.value)
    assert '\n' not in str(refused.value)


def test_the_demo_prints_forward_speed_and_model_error_per_adapter(tmp_path, graph_env):
    # `meta-mpc demo --robot half_cheetah`, short: two adapters, a joint disabled at 1 s.
    result = subprocess.run(
        [sys.executable, '-m', 'meta_mpc_ros.cli', 'demo', '--robot', HALF_CHEETAH.name,
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
