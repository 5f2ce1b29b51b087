"""
The open-loop error over the planner's horizon, measured on an agent's own trajectory.

It rolls the model adapted at step s out over the H executed actions after s
(pipeline.episodes). With H = 1 it is the one-step error; measuring it leaves the closed
loop untouched.
"""

from meta_mpc_ros.core.checkpoint import load_checkpoint
from meta_mpc_ros.pipeline.agents import AdaptiveAgent
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.pipeline.episodes import EpisodeRequest, run_episode
from meta_mpc_ros.shipped import shipped_checkpoint
from meta_mpc_ros.sim.registry import make_env
import numpy as np
import pytest

STEPS = 40


def episode(adapter, prediction_horizon, rollout_horizon):
    """Run one seeded figure-8 episode on the missing leg with the shipped model."""
    config = load_robot_config('millirobot')
    env = make_env('millirobot', task='figure8', condition='missing_leg')
    checkpoint = load_checkpoint(shipped_checkpoint('millirobot', adapter))
    agent = AdaptiveAgent(checkpoint, adapter, config.controller, config.cost_terms(env),
                          config.training.past_steps, config.adapter_settings(adapter))
    try:
        return run_episode(EpisodeRequest(env=env, policy=agent, seed=3, steps=STEPS,
                                          prediction_horizon=prediction_horizon,
                                          rollout_horizon=rollout_horizon))
    finally:
        env.close()


@pytest.mark.parametrize('adapter', ['grbal', 'rebal'])
def test_a_one_step_rollout_is_the_one_step_error(adapter):
    run = episode(adapter, prediction_horizon=1, rollout_horizon=1)
    one_step = dict(run.error_after)
    rollout = dict(run.horizon_errors)
    assert sorted(rollout) == sorted(one_step) == list(range(STEPS))
    for start, scores in rollout.items():
        assert scores['state_nmse'] == pytest.approx(one_step[start], rel=1e-5, abs=1e-7)


def test_the_horizon_error_grows_with_the_horizon_and_leaves_the_loop_alone():
    short = episode('grbal', prediction_horizon=0, rollout_horizon=1)
    long = episode('grbal', prediction_horizon=0, rollout_horizon=15)
    unmeasured = episode('grbal', prediction_horizon=0, rollout_horizon=0)
    assert np.array_equal(np.array(long.states), np.array(unmeasured.states))
    assert np.array_equal(np.array(short.actions), np.array(unmeasured.actions))
    assert not unmeasured.horizon_errors
    assert [start for start, _ in long.horizon_errors] == list(range(STEPS - 15 + 1))
    position = {h: np.mean([s['position_m'] for _, s in run.horizon_errors])
                for h, run in ((1, short), (15, long))}
    heading = {h: np.mean([s['heading_rad'] for _, s in run.horizon_errors])
               for h, run in ((1, short), (15, long))}
    assert position[15] > 3 * position[1] > 0
    assert heading[15] > heading[1] > 0


def test_rank_correlation_is_spearmans():
    from meta_mpc_ros.results.report_horizon import rank_correlation
    scipy_stats = pytest.importorskip('scipy.stats')
    rng = np.random.default_rng(0)
    a = rng.normal(size=30)
    b = a + rng.normal(size=30)
    b[:5] = b[0]                                   # ties
    assert rank_correlation(a, b) == pytest.approx(scipy_stats.spearmanr(a, b)[0], abs=1e-12)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    assert np.isnan(rank_correlation([1.0, 2.0], [2.0, 1.0]))
