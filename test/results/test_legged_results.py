"""
Sections 3 (legged benchmarks) and 4 (sample efficiency) run end to end at the smoke budget.

Everything is trained from scratch at tiny sizes into a temporary cache and docs folder;
section 4 reuses section 3's cached GrBAL run, as in `meta-mpc bench all`.
"""

import json
import math

from meta_mpc_ros.results import legged, sample_efficiency
import pytest

pytestmark = pytest.mark.slow

SEED = 5
SMOKE = legged.BUDGET_SETTINGS['smoke']
TRANSITIONS = (SMOKE.rounds * SMOKE.episodes + SMOKE.random_episodes) * SMOKE.episode_steps


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    """Return (docs, runs) folders shared by both sections."""
    root = tmp_path_factory.mktemp('legged_results')
    return root / 'docs', root / 'runs'


@pytest.fixture(scope='module')
def legged_report(folders):
    docs, runs = folders
    return legged.run('smoke', SEED, out=docs, runs=runs)


def finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def test_legged_smoke(folders, legged_report):
    docs, runs = folders
    written = json.loads((docs / 'results' / 'legged.json').read_text())
    assert written['budget'] == 'smoke' and written['seed'] == SEED
    assert written['budget_settings']['rounds'] == legged.BUDGET_SETTINGS['smoke'].rounds
    assert written['reductions'] and 'normalisation' in written
    assert written['transitions'] > 0 and written['sim_hours'] > 0
    assert written['wall_seconds'] > 0
    assert set(written['families']) == set(legged.FAMILIES)
    smoke = legged.BUDGET_SETTINGS['smoke']
    for family, entry in written['families'].items():
        # Smoke: the first test task only; Algorithm 1's data is exactly
        # (rounds x episodes + random episodes) x episode_steps (no legged episode
        # ends early).
        assert entry['test_tasks'] == [legged.held_out_tasks(family, smoke)[0]]
        assert entry['data']['transitions'] == TRANSITIONS
        assert len(entry['data']['rounds']) == smoke.rounds
        assert math.isclose(entry['data']['sim_hours'],
                            entry['data']['transitions'] * entry['control_dt'] / 3600)
        for volume in entry['oracle_data'].values():
            # The oracle gets the same data volume, on the test task only.
            assert volume['transitions'] == entry['data']['transitions']
        assert entry['wall_seconds'] > 0 and entry['train_seconds'] > 0
        assert entry['cached'] is False
        results = entry['results'][entry['test_tasks'][0]]
        assert set(results) == set(legged.METHODS) | {'Oracle'}
        for method, row in results.items():
            assert len(row['returns']) == smoke.eval_episodes
            assert all(finite(value) for value in row['returns'])
            assert row['steps'] == smoke.eval_steps
            if row['normalised'] is not None:
                assert finite(row['normalised'])
        oracle = results['Oracle']
        if oracle['return_mean'] > 0:
            # By definition the oracle scores exactly 1.
            assert oracle['normalised'] == pytest.approx(1.0)
        else:
            assert oracle['normalised'] is None
        assert set(entry['normalised']) == set(legged.METHODS) | {'Oracle', 'Random'}
    assert (docs / 'figures' / 'legged.png').stat().st_size > 10000


def test_legged_normalisation_is_the_ratio_to_the_oracle():
    # Oracle mean 4, random mean -2: R / 4 and (R + 2) / 6.
    scores = legged.normalise([2.0, 6.0], 4.0, -2.0)
    assert scores['normalised'] == pytest.approx(1.0)
    assert scores['normalised_std'] == pytest.approx(0.5)
    assert scores['normalised_vs_random'] == pytest.approx((4.0 + 2.0) / 6.0)
    assert legged.normalise([1.0], -1.0, -3.0)['normalised'] is None


def test_legged_second_run_loads_the_cache(folders, legged_report):
    docs, runs = folders
    family = 'half_cheetah_pier'
    again = legged.run('smoke', SEED, out=docs / 'again', runs=runs, families=(family,))
    entry, first = again['families'][family], legged_report['families'][family]
    assert entry['cached'] is True
    # Same checkpoints and seeds: evaluation is deterministic, returns are identical.
    task = entry['test_tasks'][0]
    for method in legged.METHODS:
        assert entry['results'][task][method]['returns'] == \
            first['results'][task][method]['returns']


def test_sample_efficiency_smoke(folders, legged_report):
    docs, runs = folders
    data = sample_efficiency.run('smoke', SEED, out=docs, runs=runs)
    written = json.loads((docs / 'results' / 'sample_efficiency.json').read_text())
    assert written['budget'] == 'smoke' and written['seed'] == SEED
    assert written['paper']['ratio'] == 1000.0
    assert written['transitions'] > 0 and written['sim_hours'] > 0
    assert written['wall_seconds'] > 0
    # Section 3's GrBAL rounds were reused, not retrained.
    assert written['timings']['grbal_cached'] is True
    smoke = legged.BUDGET_SETTINGS['smoke']
    curves = written['curves']
    assert set(curves) == {'GrBAL', 'MB', 'PPO'}
    for name in ('GrBAL', 'MB'):
        assert [p['steps'] for p in curves[name]] == [
            ((r + 1) * smoke.episodes + smoke.random_episodes) * smoke.episode_steps
            for r in range(smoke.rounds)]
        assert curves[name][-1]['steps'] == TRANSITIONS
    ppo = curves['PPO']
    assert ppo[0]['steps'] == 0
    assert ppo[-1]['steps'] >= sample_efficiency.BUDGET_SETTINGS['smoke'].ppo_steps
    for curve in curves.values():
        assert all(finite(p['return_mean']) and finite(p['return_std']) for p in curve)
        assert all(len(p['returns']) == smoke.eval_episodes for p in curve)
    assert [row['fraction'] for row in written['thresholds']] == \
        list(sample_efficiency.FRACTIONS)
    assert data['data']['PPO']['transitions'] == ppo[-1]['steps']
    assert (docs / 'figures' / 'sample_efficiency.png').stat().st_size > 10000


def test_steps_to_reach_and_ratio():
    curves = {'GrBAL': [{'steps': 100, 'return_mean': 5.0}, {'steps': 200, 'return_mean': 10.0}],
              'MB': [{'steps': 100, 'return_mean': 1.0}, {'steps': 200, 'return_mean': 2.0}],
              'PPO': [{'steps': 0, 'return_mean': 0.0}, {'steps': 50_000, 'return_mean': 9.0}]}
    rows = sample_efficiency.thresholds(curves, 50_000)
    half, most = rows
    # 50% of GrBAL's final 10: GrBAL reaches 5 at 100 steps, PPO 9 at 50,000: ratio 500.
    assert half['steps'] == {'GrBAL': 100, 'MB': None, 'PPO': 50_000}
    assert half['ratio_ppo_to_grbal'] == 500 and not half['ratio_is_lower_bound']
    # 80% (8.0): PPO's 9 reaches it too; GrBAL only at 200 steps: ratio 250.
    assert most['steps']['GrBAL'] == 200 and most['ratio_ppo_to_grbal'] == 250
    curves['PPO'][-1]['return_mean'] = 7.0
    lower = sample_efficiency.thresholds(curves, 50_000)[1]
    assert lower['steps']['PPO'] is None and lower['ratio_is_lower_bound']
    assert lower['ratio_ppo_to_grbal'] == 50_000 / 200
