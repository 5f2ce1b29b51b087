"""
Sections 3 (legged benchmarks) and 4 (sample efficiency) run end to end at the smoke budget.

Everything is trained from scratch at tiny sizes into a temporary cache and docs folder,
on the serial executor (test_grid.py runs the same grid on Ray); section 4 reuses
section 3's cached GrBAL run, as in `meta-mpc bench all`.
"""

import json
import math

from meta_mpc_ros.core.dataset import TrajectoryDataset
from meta_mpc_ros.results import closed_loop, legged, report_legged, sample_efficiency
from meta_mpc_ros.results.common import plan_of
from meta_mpc_ros.results.grid import Executor
from meta_mpc_ros.results.legged_training import (BUDGET_SETTINGS, family_config,
                                                  held_out_tasks)
from meta_mpc_ros.sim.registry import environment_class
import pytest

pytestmark = pytest.mark.slow

SEED = 5
SMOKE = BUDGET_SETTINGS['smoke']
# Algorithm 1's aggregated data after each round: (random + round x episodes) x steps
# (no legged episode ends early).
ROUNDS = [(SMOKE.random_episodes + r * SMOKE.episodes) * SMOKE.episode_steps
          for r in range(SMOKE.rounds)]


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    """Return (docs, runs) folders shared by both sections."""
    root = tmp_path_factory.mktemp('legged_results')
    return root / 'docs', root / 'runs'


@pytest.fixture(scope='module')
def legged_report(folders):
    docs, runs = folders
    return legged.run('smoke', SEED, out=docs, runs=runs, executor=Executor('serial'))


def finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def test_legged_smoke(folders, legged_report):
    docs, runs = folders
    written = json.loads((docs / 'results' / 'legged.json').read_text())
    assert written['budget'] == 'smoke' and written['seed'] == SEED
    assert written['budget_settings']['rounds'] == SMOKE.rounds
    assert written['executor']['kind'] == 'serial'
    assert written['reductions'] and 'normalisation' in written
    assert written['transitions'] > 0 and written['sim_hours'] > 0
    assert written['wall_seconds'] > 0
    assert set(written['families']) == set(legged.FAMILIES)
    for family, entry in written['families'].items():
        # Smoke: the first test task only.
        assert entry['test_tasks'] == [legged.held_out_tasks(family, SMOKE)[0]]
        assert entry['data']['transitions'] == ROUNDS[-1]
        assert [r['transitions'] for r in entry['data']['rounds']] == ROUNDS
        assert math.isclose(entry['data']['sim_hours'],
                            entry['data']['transitions'] * entry['control_dt'] / 3600)
        for index, volume in enumerate(entry['oracle_data'].values()):
            # The oracle gets the same data volume, on the test task only.
            assert volume['transitions'] == entry['data']['transitions']
            oracle_data = TrajectoryDataset.load(
                runs / 'legged' / family / f'smoke_seed{SEED}' / f'oracle_{index}_data.npz')
            assert {t.task for t in oracle_data.trajectories} == {entry['test_tasks'][index]}
            assert [r['transitions'] for r in volume['rounds']] == [
                sum(SMOKE.oracle_episodes()[:r + 1]) * SMOKE.episode_steps
                for r in range(len(SMOKE.oracle_episodes()))]
        assert set(entry['job_seconds']) >= {'grbal', 'mb', 'rebal', 'continual'}
        assert entry['cached'] is False
        task = entry['results'][entry['test_tasks'][0]]
        assert set(task['methods']) == set(legged.METHODS) | set(legged.REFERENCES)
        for row in task['methods'].values():
            assert len(row['returns']) == SMOKE.eval_episodes
            assert all(finite(value) for value in row['returns'])
            assert row['steps'] == SMOKE.eval_steps
            assert finite(row['return_ci'])
        check = task['oracle_check']
        oracle = task['methods']['Oracle']
        if check['beats_random'] and oracle['return_mean'] > 0:
            # By definition the oracle scores exactly 1.
            assert oracle['normalised'] == pytest.approx(1.0)
        else:
            assert oracle['normalised'] is None
        assert entry['summary']['oracle_valid'] == check['beats_random']
    assert written['projection']['projected_wall_seconds']['128'] > 0
    assert (docs / 'figures' / 'legged.png').stat().st_size > 10000


def test_paper_budget_is_the_papers():
    paper = BUDGET_SETTINGS['paper']
    # 50 iterations x 5 rollouts x 1000 steps, the first 5 random.
    assert paper.transitions(1000)[-1] == 250_000 and paper.random_episodes == 5
    assert sum(paper.oracle_episodes()) * 1000 == 250_000
    for family in legged.FAMILIES:
        config = family_config(family, paper, 0)
        assert config.model.hidden_sizes == (512, 512, 512)
        assert config.controller.num_samples == 500
        assert held_out_tasks(family, paper) == tuple(
            environment_class(family).TEST_CONDITIONS)
    # Sections with no paper budget of their own run their full one.
    assert plan_of(closed_loop.BUDGET, 'paper') == closed_loop.BUDGET['full']
    with pytest.raises(ValueError):
        plan_of(closed_loop.BUDGET, 'huge')


def test_oracle_counts_only_when_it_clearly_beats_random():
    def row(returns):
        mean, ci = legged.mean_ci(returns)
        return {'return_mean': mean, 'return_ci': ci}

    # Oracle 10 +- t(0.975, 1) * 1 / sqrt(2) * sqrt(2) = 12.706 (returns 9 and 11: s =
    # sqrt(2), s / sqrt(2) = 1): its interval [-2.7, 22.7] reaches random's mean 0.
    loose = legged.oracle_check({'Oracle': row([9.0, 11.0]), 'Random': row([0.0, 0.0])})
    assert not loose['beats_random'] and loose['gap'] == pytest.approx(10.0)
    # Five seeds 9..11 (s = 0.79, t = 2.776: half-width 0.98): [9.02, 10.98] > [0, 0].
    tight = legged.oracle_check({'Oracle': row([9.0, 9.5, 10.0, 10.5, 11.0]),
                                 'Random': row([0.0] * 5)})
    assert tight['beats_random']
    assert tight['oracle_low'] == pytest.approx(10.0 - 2.776 * math.sqrt(0.625 / 5), 1e-3)
    assert tight['beats_held_random'] is None
    # The held random policy is checked too, but only 'Random' gates normalisation.
    both = legged.oracle_check({'Oracle': row([9.0, 9.5, 10.0, 10.5, 11.0]),
                                'Random': row([0.0] * 5),
                                'Random (held)': row([8.0, 12.0, 10.0, 9.0, 11.0])})
    assert both['beats_random'] and both['beats_held_random'] is False


def test_the_reference_random_policy_draws_every_step_the_held_one_holds():
    config = family_config('half_cheetah_hills', BUDGET_SETTINGS['smoke'], 0)
    task = held_out_tasks('half_cheetah_hills', BUDGET_SETTINGS['smoke'])[0]
    low, high = config.collection.random_hold_steps
    assert low > 1
    returns = {}
    for label, hold in legged.RANDOM_POLICIES.items():
        first = legged.evaluate_episode((config, None, hold, task, 3, 30))
        again = legged.evaluate_episode((config, None, hold, task, 3, 30))
        assert first['steps'] == 30 and first['return'] == again['return']
        returns[label] = first['return']
    # Same seed, different action streams: different returns.
    assert returns['Random'] != returns['Random (held)']


def test_legged_normalisation_is_the_ratio_to_the_oracle():
    # Oracle mean 4, random mean -2: R / 4 and (R + 2) / 6.
    scores = legged.normalise([2.0, 6.0], 4.0, -2.0)
    assert scores['normalised'] == pytest.approx(1.0)
    # Ratios 0.5 and 1.5: s = 0.707, half-width 12.706 * 0.707 / sqrt(2) = 6.353.
    assert scores['normalised_ci'] == pytest.approx(6.353, 1e-3)
    assert scores['normalised_vs_random'] == pytest.approx((4.0 + 2.0) / 6.0)
    assert legged.normalise([1.0], -1.0, -3.0)['normalised'] is None
    # An oracle that does not beat random normalises nothing.
    assert set(legged.normalise([2.0, 6.0], 4.0, -2.0, valid=False).values()) == {None}


def test_legged_second_run_loads_the_cache(folders, legged_report):
    docs, runs = folders
    family = 'half_cheetah_pier'
    again = legged.run('smoke', SEED, out=docs / 'again', runs=runs, families=(family,),
                       executor=Executor('serial'))
    entry, first = again['families'][family], legged_report['families'][family]
    assert entry['cached'] is True
    # Same checkpoints and seeds: evaluation is deterministic, returns are identical.
    task = entry['test_tasks'][0]
    for method in legged.METHODS:
        assert entry['results'][task]['methods'][method]['returns'] == \
            first['results'][task]['methods'][method]['returns']


def test_sample_efficiency_smoke(folders, legged_report):
    docs, runs = folders
    data = sample_efficiency.run('smoke', SEED, out=docs, runs=runs,
                                 executor=Executor('serial'))
    written = json.loads((docs / 'results' / 'sample_efficiency.json').read_text())
    assert written['budget'] == 'smoke' and written['seed'] == SEED
    assert written['paper']['ratio'] == 1000.0
    assert written['transitions'] > 0 and written['wall_seconds'] > 0
    # Section 3's GrBAL rounds were reused, not retrained.
    assert written['timings']['grbal_cached'] is True
    curves = written['curves']
    assert set(curves) == {'GrBAL', 'MB', 'PPO', 'TRPO'}
    for name in ('GrBAL', 'MB'):
        # One point per Algorithm-1 round, the same rounds for both.
        assert [p['steps'] for p in curves[name]] == ROUNDS
    budget = sample_efficiency.BUDGET_SETTINGS['smoke']
    for name in ('PPO', 'TRPO'):
        assert curves[name][0]['steps'] == 0
        assert curves[name][-1]['steps'] >= budget.steps
        assert data['data'][name]['transitions'] == curves[name][-1]['steps']
    for curve in curves.values():
        assert all(finite(p['return_mean']) for p in curve)
        assert all(len(p['returns']) == budget.curve_episodes for p in curve)
    assert [row['fraction'] for row in written['thresholds']] == \
        list(sample_efficiency.FRACTIONS)
    assert (docs / 'figures' / 'sample_efficiency.png').stat().st_size > 10000


def test_steps_to_reach_and_ratio():
    curves = {'GrBAL': [{'steps': 100, 'return_mean': 5.0}, {'steps': 200, 'return_mean': 10.0}],
              'MB': [{'steps': 100, 'return_mean': 6.0}, {'steps': 200, 'return_mean': 8.0}],
              'PPO': [{'steps': 0, 'return_mean': 0.0}, {'steps': 50_000, 'return_mean': 9.0}]}
    rows = {row['fraction']: row for row in sample_efficiency.thresholds(
        curves, {'PPO': 50_000})}
    # The best model-based return is GrBAL's 10. R = 5 (50 %): both reach it at 100
    # steps, PPO at 50,000: ratio 500.
    half = rows[0.5]
    assert half['target'] == 5.0 and half['model_based'] == 100
    assert half['steps'] == {'GrBAL': 100, 'MB': 100, 'PPO': 50_000}
    assert half['ratios'] == {'PPO': 500} and not half['lower_bound']['PPO']
    # R = 7.5 (75 %): MB reaches it at 200, GrBAL at 200; PPO's 9 at 50,000: ratio 250.
    assert rows[0.75]['model_based'] == 200 and rows[0.75]['ratios']['PPO'] == 250
    # R = 10 (100 %): PPO never does; the ratio is a lower bound, 50,000 / 200.
    full = rows[1.0]
    assert full['steps']['PPO'] is None and full['lower_bound']['PPO']
    assert full['ratios']['PPO'] == 250


def test_sections_3_and_4_render_from_the_json(folders, legged_report):
    docs, runs = folders
    if not (docs / 'results' / 'sample_efficiency.json').is_file():
        sample_efficiency.run('smoke', SEED, out=docs, runs=runs, executor=Executor('serial'))
    data = json.loads((docs / 'results' / 'legged.json').read_text())
    text = report_legged.legged_section(data, None)
    assert f"Closed-loop {data['planner'].replace('_', ' ')}" in text
    failing = []
    for family, entry in data['families'].items():
        assert f'### {family}' in text
        for task, result in entry['results'].items():
            if not result['oracle_check']['beats_random']:
                failing.append(f'- {family}, {task}:')
    # Every test task whose oracle does not beat random is named with its reason, and
    # every family where the ordering does not hold with its models' errors.
    failing += [f'- {family}: one-step prediction error' for family, entry in
                data['families'].items() if not report_legged.ordering(entry['summary'])[0]]
    if failing:
        assert '**Likely reasons**' in text
        assert all(line in text for line in failing)
    curves = json.loads((docs / 'results' / 'sample_efficiency.json').read_text())
    assert 'Environment steps to reach return R' in \
        report_legged.sample_efficiency_section(curves, None)


def test_a_missed_ordering_names_the_models_errors():
    def row(value, error):
        return {'return_mean': value, 'return_ci': 1.0, 'prediction_error_after': error}

    rows = {'GrBAL': row(10.0, 0.1), 'ReBAL': row(5.0, 0.3), 'MB': row(20.0, 0.2),
            'MB+DE': row(15.0, 0.2), 'Oracle': row(20.0, 0.05)}
    result = {'summary': rows, 'results': {'task': {'methods': rows}}}
    line = report_legged.model_error_line('cheetah', result)
    # GrBAL predicts at half MB's error; the oracle at a quarter returns no more.
    assert "GrBAL's error is 0.5x MB's, yet it returns less" in line
    assert 'returns most' not in line
    rows['Oracle'] = row(30.0, 0.05)
    assert 'predicts best and returns most' in report_legged.model_error_line('cheetah', result)
    rows['GrBAL'] = row(10.0, 0.4)
    assert 'still predicts worse than MB' in report_legged.model_error_line('cheetah', result)
