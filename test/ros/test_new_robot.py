"""
CONTRIBUTING's "A new robot": a robot described in the test folder runs in the graph.

test/helpers/point_robot.py describes a differential-drive base (its state, joints,
actions and learning config) and registers it; nothing in the package names it. Each
process of the graph finds it through META_MPC_ROBOTS, as a user's robot would be
found, and test/helpers/point_robot_driver.py plays the robot (sim:=none), or sim_node
simulates it with the class its description names (test/helpers/point_robot_sim.py).
The graph then estimates the robot's 8-entry state, adapts and plans with a small
untrained model for its 2 wheels, and drives it over real DDS.
"""

import importlib
import importlib.util
import json
import os
import pathlib
import signal
import subprocess
import sys

from meta_mpc_ros.core.checkpoint import CheckpointError, save_checkpoint
from meta_mpc_ros.core.roles import BASELINE_ADAPTER
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.pipeline.train import build_model
from meta_mpc_ros.robots import ROBOTS
from meta_mpc_ros.ros import mppi_controller_node, state_estimator_node
from meta_mpc_ros.ros.graph.episode import graph_episode, GraphEpisodeRequest
from meta_mpc_ros.shipped import load_graph_checkpoint, shipped_checkpoint
import numpy as np
import pytest

HELPERS = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'helpers')
DRIVER = os.path.join(HELPERS, 'point_robot_driver.py')
NAME = 'point_robot'
TOOLS = pathlib.Path(__file__).resolve().parents[2] / 'tools'
PLANNED = 30            # planned commands the robot is driven with
DRIVER_WALL_S = 240     # the most wall time that may take (about 20 s on an idle machine)


@pytest.fixture
def registered():
    """Register the point robot in this process (importing it does), then take it out."""
    robot = importlib.import_module('point_robot').POINT_ROBOT
    ROBOTS.setdefault(NAME, robot)
    yield robot
    ROBOTS.pop(NAME, None)


def untrained_checkpoint(path, robot):
    """Write an untrained checkpoint of the robot's sizes, for its config's method."""
    config = load_robot_config(robot.name)
    model = build_model(config, 'mb', robot.state, robot.action, seed=0)
    save_checkpoint(path, model, 'mb', robot.name, robot.state, robot.action)
    return path


def robot_env(graph_env):
    """Return the graph's environment with the point robot found in every process."""
    return dict(graph_env, META_MPC_ROBOTS=NAME,
                PYTHONPATH=graph_env['PYTHONPATH'] + os.pathsep + HELPERS)


def test_the_description_is_offered_where_a_robot_is_chosen(registered):
    assert registered.state.dim == 8 and registered.state.model_input_excluded == ('x', 'y')
    # Its measurements build its state: at x = 1 m, turned 90 degrees, wheels at 2, 3 rad/s.
    turned = [0.0, 0.0, np.sin(np.pi / 4), np.cos(np.pi / 4)]
    state = registered.build_state([1.0, 0.0, 0.0], turned, [0.25, 0.0, 0.0], [0.0, 0.0, 0.5],
                                   [0.1, 0.2], [2.0, 3.0])
    np.testing.assert_allclose(state, [1.0, 0.0, 0.0, 1.0, 0.25, 0.5, 2.0, 3.0], atol=1e-12)
    # The nodes' `robot` parameters accept it; the estimator's joints default to its own.
    spec = state_estimator_node.PARAMETERS[0]
    assert spec.name == 'robot' and spec.validate(NAME) is None
    joints = {s.name: s.default for s in state_estimator_node.parameters(NAME)}['motor_joints']
    assert joints == ['left_wheel', 'right_wheel']
    assert mppi_controller_node.ROBOT.validate(NAME) is None
    # Its config, found through the description, holds the planner's cost and settings.
    assert load_robot_config(NAME).controller.num_samples == 64
    # docs/robot_contract.md's generator writes its contract as it does the millirobot's.
    spec = importlib.util.spec_from_file_location('robot_contract', TOOLS / 'robot_contract.py')
    robot_contract = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(robot_contract)
    contract = robot_contract.robot_section(registered)
    assert '| 7 | `right_rate` | rad/s | /joint_states `velocity` of `right_wheel` | yes |' \
        in contract
    assert 'Actions (2 entries) on `/cmd`' in contract


def test_a_checkpoint_of_another_robot_is_refused_in_one_line(registered):
    # What the adaptive dynamics and controller nodes load at start, for robot:=point_robot.
    shipped = shipped_checkpoint('millirobot', BASELINE_ADAPTER)
    with pytest.raises(CheckpointError) as error:
        load_graph_checkpoint(shipped, 'cpu', NAME)
    assert str(error.value) == f"{shipped}: trained for robot 'millirobot', not 'point_robot'"


@pytest.mark.slow
def test_the_graph_drives_a_robot_described_outside_the_package(
        registered, tmp_path, graph_env):
    # The robot runs in real time, as a real one does; the driver stops once PLANNED
    # planned commands reached it (at most DRIVER_WALL_S), then the graph is stopped: a
    # loaded machine takes longer, and what is asserted is counted against the states
    # the graph estimated, never against the wall clock.
    checkpoint = untrained_checkpoint(tmp_path / 'point_robot_mb.pt', registered)
    env = robot_env(graph_env)
    report = tmp_path / 'driver.json'
    driver = subprocess.Popen([sys.executable, DRIVER, str(DRIVER_WALL_S), str(report),
                               str(PLANNED)], env=env, stdout=subprocess.PIPE, text=True)
    launch = None
    try:
        assert driver.stdout.readline().strip() == 'ready'
        launch = subprocess.Popen(
            [sys.executable, '-m', 'meta_mpc_ros.cli', 'launch', 'sim:=none',
             f'robot:={NAME}', f'adapter:={BASELINE_ADAPTER}', f'checkpoint:={checkpoint}',
             'task:=straight', 'record:=false', 'use_sim_time:=false',
             '--run-dir', str(tmp_path / 'graph')],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        driver.wait(timeout=DRIVER_WALL_S + 60)
        assert launch.poll() is None, 'the graph stopped before the robot was driven'
        launch.send_signal(signal.SIGINT)
        stdout, stderr = launch.communicate(timeout=60)
    finally:
        driver.kill()
        if launch is not None and launch.poll() is None:
            launch.kill()
    assert launch.returncode == 0, stdout + stderr
    assert 'while the graph was running' not in stderr, stderr
    seen = json.loads(report.read_text())
    # The estimator published the robot's own state vector.
    assert seen['state_count'] >= 20
    assert seen['states'][-1] == list(registered.state.names)
    # The controller's commands reached the robot, one value per wheel; PLANNED of them
    # came from the planner (not the zero command of a stopped controller).
    commands = [entry for entry in seen['commands'] if any(entry[2])]
    assert len(commands) >= PLANNED and all(width == 2 for _, width, _ in seen['commands'])
    # At the control rate (the estimator's): from the first planned command on, every
    # state the estimator published was answered, once and in order, and no command
    # answered a state it did not publish.
    answers = [stamp for stamp, _ in seen['answers']]
    first = next(stamp for stamp, values in seen['answers'] if any(values))
    states = [stamp for stamp in seen['state_stamps'] if first <= stamp <= answers[-1]]
    assert [stamp for stamp in answers if stamp >= first] == states
    assert len(states) >= PLANNED - 1
    # And they moved the base.
    assert np.hypot(*seen['pose'][:2]) > 0.01


@pytest.mark.slow
def test_sim_node_simulates_a_robot_whose_description_names_its_simulator(
        registered, tmp_path, graph_env):
    # The point robot's description names test/helpers/point_robot_sim.py's class:
    # sim_node runs it in lockstep, its world changes mid-episode (a worn left wheel),
    # and the graph drives it, with no file of the package naming it.
    checkpoint = untrained_checkpoint(tmp_path / 'point_robot_mb.pt', registered)
    env = robot_env(graph_env)
    steps, switch = 30, 15
    arguments = {'checkpoint': str(checkpoint), 'adapter': BASELINE_ADAPTER,
                 'task': 'straight', 'robot': NAME,
                 'terrain_schedule': f'{switch * registered.control_dt:.6f}:'
                                     f'{registered.sim.demo_condition}'}
    graph = graph_episode(GraphEpisodeRequest(
        arguments=arguments, sim_seed=0, condition=registered.sim.default_condition,
        scale=1.0, steps=steps, run_dir=str(tmp_path), env=env, timeout_s=DRIVER_WALL_S))
    assert graph.actions.shape == (steps, 2) and graph.states.shape[1] == registered.state.dim
    assert graph.state_steps()[-1] == steps
    np.testing.assert_allclose(np.diff(graph.action_stamps), registered.control_dt, atol=1e-6)
    # Each state's wheel rates are the command that answered the state before, the left
    # one at half its command from the switch on: the simulator's own world change.
    rates = graph.states[1:, registered.state.index('left_rate'):]
    scale = np.where(np.arange(steps) < switch, 1.0, 0.5)
    np.testing.assert_allclose(rates[:, 0], scale * graph.actions[:, 0], rtol=1e-12)
    np.testing.assert_allclose(rates[:, 1], graph.actions[:, 1], rtol=1e-12)
    assert np.any(graph.actions != 0.0)
    # And the base moved.
    assert np.hypot(*graph.states[-1, :2]) > 0.01
    for log in pathlib.Path(graph.logs).glob('*.log'):
        assert 'Traceback' not in log.read_text(), log.name
