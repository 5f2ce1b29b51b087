"""The legged environments' API on real MuJoCo: specs, stepping, determinism, restore, render."""

import warnings

from gymnasium.utils.env_checker import check_env
from meta_mpc_ros.core.costs import build_cost
from meta_mpc_ros.sim.legged import LEGGED_ENVS
from meta_mpc_ros.sim.legged.assets import ASSET_DIR
import mujoco
import numpy as np
import pytest
import torch

NAMES = sorted(LEGGED_ENVS)


def every_condition(env_class):
    """Return nominal, the held-out tasks and two training draws of a family."""
    rng = np.random.default_rng(11)
    return (['nominal'] + list(env_class.TEST_CONDITIONS)
            + [env_class.sample_training_condition(rng) for _ in range(2)])


def warning_count(data):
    """Return the total of MuJoCo's warning counters."""
    return sum(int(data.warning[i].number) for i in range(len(data.warning)))


def rollout(env, actions, seed=0, condition=None):
    """Reset and run open-loop actions; return (states (T+1, n), rewards (T,))."""
    options = None if condition is None else {'condition': condition}
    state, _ = env.reset(seed=seed, options=options)
    states, rewards = [state], []
    for action in actions:
        state, reward, terminated, truncated, info = env.step(action)
        assert not terminated
        states.append(state)
        rewards.append(reward)
    return np.array(states), np.array(rewards)


def random_actions(env, seconds, seed=0):
    """Return uniform random actions within bounds for `seconds` of control."""
    rng = np.random.default_rng(seed)
    steps = int(round(seconds / env.control_dt))
    return rng.uniform(env.action_space.low, env.action_space.high,
                       size=(steps,) + env.action_space.shape)


@pytest.mark.parametrize('name', NAMES)
def test_every_condition_compiles_silently_and_steps_one_second_without_warnings(name, capfd):
    env_class = LEGGED_ENVS[name]
    env = env_class()
    # MuJoCo prints compiler warnings (e.g. the deprecated settotalmass) on stderr.
    assert capfd.readouterr().err == ''
    for condition in every_condition(env_class):
        states, rewards = rollout(env, random_actions(env, 1.0), condition=condition)
        assert env.condition == condition
        assert warning_count(env.data) == 0, condition
        assert np.all(np.isfinite(states)) and np.all(np.isfinite(rewards))
    env.close()


def test_half_cheetah_model_is_gymnasiums_with_the_official_mass():
    env = LEGGED_ENVS['half_cheetah_disabled_joint']()
    # Reference: gymnasium's file scaled by MuJoCo's own mj_setTotalmass, the function
    # behind the deprecated settotalmass (compiling that attribute would log a warning).
    text = (ASSET_DIR / 'half_cheetah.xml').read_text()
    assert 'settotalmass="14"' in text
    reference = mujoco.MjModel.from_xml_string(text.replace('settotalmass="14"', ''))
    mujoco.mj_setTotalmass(reference, 14.0)
    np.testing.assert_allclose(env.model.body_mass, reference.body_mass, rtol=1e-12)
    np.testing.assert_allclose(env.model.body_inertia, reference.body_inertia, rtol=1e-12)
    assert env.model.body_mass.sum() == pytest.approx(14.0)
    # Official: timestep 0.01 s and no frame skip.
    assert env.control_dt == pytest.approx(0.01)
    assert LEGGED_ENVS['ant_crippled_leg']().control_dt == pytest.approx(0.02)


def test_pier_masses_follow_the_official_settotalmass_over_blocks_and_cheetah():
    flat = LEGGED_ENVS['half_cheetah_disabled_joint']().model
    pier = LEGGED_ENVS['half_cheetah_pier']().model
    assert pier.body_mass.sum() == pytest.approx(14.0)
    blocks = [pier.body(f'block_{i}').mass[0] for i in range(8)]
    cheetah = np.array([pier.body(flat.body(i).name).mass[0] for i in range(1, flat.nbody)])
    # The cheetah weighs 21.18 kg at density 1000; official settotalmass=14 over it and
    # 8 blocks of 10 kg scales by 14 / (80 + 21.18): blocks 1.384 kg, cheetah 2.931 kg.
    np.testing.assert_allclose(blocks, 1.384, atol=1e-3)
    assert cheetah.sum() == pytest.approx(2.931, abs=1e-3)
    np.testing.assert_allclose(cheetah / flat.body_mass[1:], cheetah[0] / flat.body_mass[1])


@pytest.mark.parametrize('name', NAMES)
def test_state_vector_matches_spec_spaces_and_simulation(name):
    env = LEGGED_ENVS[name]()
    state, info = env.reset(seed=3)
    spec = env.state_spec
    assert state.shape == (spec.dim,) == env.observation_space.shape
    assert state.dtype == np.float64 and len(set(spec.names)) == spec.dim
    assert env.action_spec.dim == env.action_space.shape[0] == env.model.nu
    np.testing.assert_array_equal(env.action_spec.low, env.action_space.low)
    # The benchmarks' official observations; the ant robot's (robots.ant) is 31 entries.
    assert spec.dim == {'ant': 31, 'ant_crippled_leg': 41}.get(name, 20)
    torso = env.model.body('torso').id
    np.testing.assert_array_equal(
        state[list(spec.indices('torso_com_x', 'torso_com_y', 'torso_com_z'))],
        env.data.subtree_com[torso])
    assert 'torso_com_x' in spec.model_input_excluded
    assert info == {'condition': 'nominal'}
    for term in env.cost_terms():
        if term['name'] == 'forward_velocity':
            assert term['position'] in spec.names and term['dt'] == env.control_dt


def test_half_cheetah_state_names_and_order():
    env = LEGGED_ENVS['half_cheetah_hills']()
    state, _ = env.reset(seed=1)
    spec = env.state_spec
    # Official: qpos[1:] (rootz, rooty, 6 joints), qvel (9), torso subtree centre of mass.
    assert spec.names[:3] == ('rootz', 'rooty', 'bthigh')
    assert spec.names[8] == 'rootx_vel' and spec.units[8] == 'm/s'
    np.testing.assert_array_equal(state[:8], env.data.qpos[1:])
    np.testing.assert_array_equal(state[8:17], env.data.qvel)


def test_reward_is_the_planner_cost_on_true_states():
    for name in ('half_cheetah_pier', 'ant_crippled_leg'):
        env = LEGGED_ENVS[name]()
        terms = {term['name']: term for term in env.cost_terms()}
        position = env.state_spec.index(terms['forward_velocity']['position'])
        dt = terms['forward_velocity']['dt']
        # Official coefficients: cheetah 1e-1 * 0.5 = 0.05, ant 0 (plus a 0.05 alive bonus).
        weight = terms['control_effort']['weight']
        bonus = 0.05 if name.startswith('ant') else 0.0
        assert weight == (0.0 if bonus else 0.05)
        actions = random_actions(env, 0.2, seed=4) * 1.5    # some beyond bounds: clipped
        states, rewards = rollout(env, actions)
        clipped = np.clip(actions, env.action_space.low, env.action_space.high)
        velocity = (states[1:, position] - states[:-1, position]) / dt
        expected = velocity - weight * np.sum(clipped ** 2, axis=1) + bonus
        np.testing.assert_allclose(rewards, expected, rtol=1e-12, atol=1e-12)
        _, reward, _, _, info = env.step(clipped[0])
        assert info['cost'] == -reward and info['condition'] == 'nominal'
        assert reward == pytest.approx(info['forward_velocity'] - info['control_cost'] + bonus)


@pytest.mark.parametrize('name', NAMES)
def test_core_planner_cost_of_the_true_trajectory_is_minus_the_return(name):
    env = LEGGED_ENVS[name]()
    cost = build_cost(env.cost_terms(), env.state_spec)
    actions = random_actions(env, 0.1, seed=8)
    states, rewards = rollout(env, actions)
    planned = cost(torch.from_numpy(states)[None], torch.from_numpy(actions)[None], None)
    # The planner drops only the ant's constant alive bonus (0.05 per step), which does
    # not change which action sequence is best.
    bonus = env.alive_bonus * len(actions)
    assert float(planned[0]) == pytest.approx(-(rewards.sum() - bonus), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize('name', NAMES)
def test_same_seed_task_and_actions_give_bit_identical_trajectories(name):
    env_class = LEGGED_ENVS[name]
    condition = env_class.TEST_CONDITIONS[0]
    first, second = env_class(condition=condition), env_class()
    actions = random_actions(first, 0.5, seed=2)
    states_a, rewards_a = rollout(first, actions, seed=9)
    states_b, rewards_b = rollout(second, actions, seed=9, condition=condition)
    np.testing.assert_array_equal(states_a, states_b)
    np.testing.assert_array_equal(rewards_a, rewards_b)
    again, _ = rollout(first, actions, seed=9)
    np.testing.assert_array_equal(again, states_a)
    other_seed, _ = rollout(first, actions, seed=10)
    assert not np.array_equal(other_seed[0], states_a[0])


@pytest.mark.parametrize('name', NAMES)
def test_applying_then_removing_a_condition_restores_the_model_exactly(name):
    env_class = LEGGED_ENVS[name]
    pristine, env = env_class(), env_class()
    actions = random_actions(env, 0.3, seed=6)
    reference, _ = rollout(pristine, actions, seed=1)
    condition = env_class.TEST_CONDITIONS[0]
    env.set_condition(condition)
    changed = [field for field in env.MUTABLE_FIELDS
               if not np.array_equal(getattr(env.model, field), getattr(pristine.model, field))]
    assert changed or not np.all(env.action_mask == 1.0)
    env.set_condition('')
    assert env.condition == 'nominal'
    for field in env.MUTABLE_FIELDS:
        np.testing.assert_array_equal(getattr(env.model, field), getattr(pristine.model, field))
    np.testing.assert_array_equal(env.action_mask, np.ones(env.model.nu))
    states, _ = rollout(env, actions, seed=1)
    np.testing.assert_array_equal(states, reference)
    # At run time, mid-episode: the state is kept and removing the task leaves no trace.
    env.reset(seed=1)
    pristine.reset(seed=1)
    for step, action in enumerate(actions):
        if step == 10:
            qpos = env.data.qpos.copy()
            env.set_condition(env_class.sample_training_condition(np.random.default_rng(0)))
            np.testing.assert_array_equal(env.data.qpos, qpos)
            env.set_condition('nominal')
        state, *_ = env.step(action)
        expected, *_ = pristine.step(action)
        np.testing.assert_array_equal(state, expected)


@pytest.mark.parametrize('name', NAMES)
def test_bad_actions_options_and_conditions_are_refused(name):
    env = LEGGED_ENVS[name]()
    env.reset(seed=0)
    size = env.model.nu
    with pytest.raises(ValueError, match='shape'):
        env.step(np.zeros(size + 1))
    with pytest.raises(ValueError, match='shape'):
        env.step(np.zeros((1, size)))
    for bad in (np.nan, np.inf):
        action = np.zeros(size)
        action[1] = bad
        with pytest.raises(ValueError, match='non-finite'):
            env.step(action)
    with pytest.raises(ValueError, match='numeric'):
        env.step(['a'] * size)
    with pytest.raises(ValueError, match='unknown reset options'):
        env.reset(options={'terrain': 'hill'})
    with pytest.raises(ValueError, match='unknown condition key'):
        env.set_condition('gravity=3')
    with pytest.raises(ValueError):
        LEGGED_ENVS[name](max_episode_steps=0)
    assert env.condition == 'nominal'


@pytest.mark.parametrize('name', NAMES)
def test_gymnasium_env_checker_passes(name):
    env = LEGGED_ENVS[name]()
    with warnings.catch_warnings():
        # Unbounded observations and the lack of a registry spec are only warned about.
        warnings.simplefilter('ignore', UserWarning)
        check_env(env, skip_render_check=False)
    env.close()


def test_truncation_after_max_episode_steps():
    env = LEGGED_ENVS['half_cheetah_disabled_joint'](max_episode_steps=3)
    env.reset(seed=0)
    flags = [env.step(np.zeros(6))[3] for _ in range(3)]
    assert flags == [False, False, True]
    env.reset(seed=0)
    assert env.step(np.zeros(6))[3] is False


def red_pixels(frame):
    """Count pixels painted the official "crippled" red."""
    red, green, blue = (frame[..., i].astype(int) for i in range(3))
    return int(np.sum((red > 120) & (green < 50) & (blue < 50)))


def test_render_gives_non_blank_frames_and_shows_the_crippled_part():
    env = LEGGED_ENVS['half_cheetah_disabled_joint'](render_width=320, render_height=240)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8
    assert frame.std() > 10.0
    env.set_condition('disabled_joint=0')
    crippled = env.render()
    assert red_pixels(crippled) > red_pixels(frame) + 20
    env.close()
    hills = LEGGED_ENVS['half_cheetah_hills'](
        condition='terrain=steep', render_width=160, render_height=120)
    hills.reset(seed=0)
    assert hills.render().std() > 10.0
    hills.close()
