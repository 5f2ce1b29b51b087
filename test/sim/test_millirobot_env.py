"""The millirobot's gymnasium environment: spaces, rewards, tasks and determinism."""

import math

from gymnasium.utils.env_checker import check_env
from meta_mpc_ros.core.reference import PathTracker, TASKS
from meta_mpc_ros.robots.millirobot import MILLIROBOT_ACTION, MILLIROBOT_STATE
from meta_mpc_ros.sim.millirobot_env import MillirobotEnv
import numpy as np
import pytest


@pytest.fixture(scope='module')
def env():
    environment = MillirobotEnv(task='figure8', condition='carpet')
    yield environment
    environment.close()


def test_spaces_match_the_specs(env):
    assert env.state_spec is MILLIROBOT_STATE and env.action_spec is MILLIROBOT_ACTION
    assert env.observation_space.shape == (MILLIROBOT_STATE.dim,)
    np.testing.assert_array_equal(env.action_space.low, MILLIROBOT_ACTION.low)
    np.testing.assert_array_equal(env.action_space.high, MILLIROBOT_ACTION.high)
    assert env.control_dt == pytest.approx(0.1)
    state, info = env.reset(seed=0)
    assert env.observation_space.contains(state)
    assert info['condition'] == 'carpet'


# The checker's advice (normalised actions, finite observation bounds) does not fit a
# model-based planner that works in physical units; its checks proper must pass.
@pytest.mark.filterwarnings('ignore:.*Box (action|observation) space:UserWarning')
def test_passes_gymnasiums_env_checker():
    environment = MillirobotEnv(task='straight', episode_steps=20)
    check_env(environment, skip_render_check=True)
    environment.close()


def test_reward_is_minus_the_task_cost(env):
    env.reset(seed=1, options={'task': 'straight', 'condition': 'turf'})
    assert env.condition == 'turf' and env.task == 'straight'
    tracker = PathTracker(env.task_path, env.cost_weights)
    for _ in range(5):
        state, reward, terminated, truncated, info = env.step([12.0, 12.0])
        yaw = math.atan2(state[MILLIROBOT_STATE.index('sin_yaw')],
                         state[MILLIROBOT_STATE.index('cos_yaw')])
        expected = tracker.step_cost(state[:2], yaw)
        assert reward == -info['cost'] == -expected['cost']
        for key in ('distance', 'heading_error', 'progress'):
            assert info[key] == expected[key]
        assert info['condition'] == 'turf' and not terminated and not truncated
    # Going straight along a straight path: positive progress, small distance.
    assert info['progress'] > 0.0 and info['distance'] < 0.05


def test_cost_terms_describe_the_reward(env):
    terms = {term['name']: term for term in env.cost_terms()}
    assert terms['path_tracking']['weight'] == 1.0
    assert (terms['path_tracking']['distance'], terms['path_tracking']['heading'],
            terms['path_tracking']['progress']) == (1.0, 0.1, 1.0)
    assert terms['control_effort']['weight'] == 0.0


def test_the_robot_yaml_cost_is_the_reward(env):
    # The planner's cost in the live graph and in-process comes from config/
    # millirobot.yaml; its weighted terms are the reward's (the others weigh 0).
    from meta_mpc_ros.pipeline.config import load_robot_config
    robot = {term['name']: term for term in load_robot_config('millirobot').cost}
    reward = {term['name']: term for term in env.cost_terms()}
    for name, term in robot.items():
        assert term == reward.get(name, dict(term, weight=0.0)), name
        if name not in reward:
            assert term['weight'] == 0.0
    assert set(reward) <= set(robot)


def test_same_seed_same_episode():
    returns = []
    for _ in range(2):
        environment = MillirobotEnv(task='zigzag', condition='novel_terrain')
        environment.reset(seed=3)
        rng = np.random.default_rng(4)
        returns.append([environment.step(rng.uniform(0, 25, 2))[1] for _ in range(10)])
        environment.close()
    assert returns[0] == returns[1]


def test_condition_changes_at_run_time(env):
    env.reset(seed=2, options={'task': 'figure8', 'condition': 'carpet'})
    env.step([10.0, 10.0])
    env.set_condition('slippery_slope,payload_kg=0.02')
    _, _, _, _, info = env.step([10.0, 10.0])
    assert info['condition'] == env.condition == 'slippery_slope,payload_kg=0.02'


@pytest.mark.parametrize('bad', [[1.0], [1.0, 2.0, 3.0], [math.nan, 1.0], [1.0, math.inf]])
def test_bad_actions_are_rejected(env, bad):
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.step(bad)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match='unknown task'):
        MillirobotEnv(task='circle')
    with pytest.raises(ValueError, match='whole number'):
        MillirobotEnv(control_rate_hz=30.0)
    with pytest.raises(ValueError, match='carpte'):
        MillirobotEnv(condition='carpte')
    environment = MillirobotEnv(task='straight')
    with pytest.raises(ValueError, match='unknown reset options'):
        environment.reset(options={'terrain': 'turf'})


def follow(env, steps, lookahead=0.15, gain=12.0, cruise=12.0):
    """Pure pursuit on the reference path: steer the leg-rate difference to a point ahead."""
    total = 0.0
    for _ in range(steps):
        state = env.sim.state()
        yaw = math.atan2(state[MILLIROBOT_STATE.index('sin_yaw')],
                         state[MILLIROBOT_STATE.index('cos_yaw')])
        points, _, along = env.tracker.local_segment(lookahead)
        target = points[-1] - state[:2]
        error = (math.atan2(target[1], target[0]) - yaw + math.pi) % (2 * math.pi) - math.pi
        turn = float(np.clip(gain * error, -cruise, cruise))
        _, reward, terminated, truncated, info = env.step([cruise - turn, cruise + turn])
        total += info['progress']
        if terminated or truncated:
            break
    return total, info


@pytest.mark.parametrize('task', TASKS)
def test_default_task_sizes_can_be_followed(task):
    # A simple steering law keeps the robot within 10 cm of every default path while it
    # covers at least half of it in the default episode length.
    environment = MillirobotEnv(task=task)
    environment.reset(seed=0)
    progress, info = follow(environment, environment.episode_steps)
    assert progress > 0.5 * environment.task_path.length
    assert info['distance'] < 0.1
    environment.close()
