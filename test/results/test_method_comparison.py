"""The method comparison pairs every adapter on the same episodes and judges by intervals."""

from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.results import method_comparison, paired


def test_verdicts_follow_the_interval_with_known_numbers():
    # [-1.0, -1.1, -0.9]: mean -1.0, s = 0.1, half-width t(0.975, 2) * 0.1 / sqrt(3)
    # = 4.303 * 0.0577 = 0.248, so the interval [-1.25, -0.75] lies below zero.
    mean, half, verdict = paired.paired_verdict([-1.0, -1.1, -0.9], 'holds', 'fails')
    assert abs(mean + 1.0) < 1e-12 and abs(half - 0.2484) < 1e-3 and verdict == 'holds'
    assert paired.paired_verdict([1.0, 1.1, 0.9], 'holds', 'fails')[2] == 'fails'
    # [-1.0, 1.0, 0.1]: mean 0.033, the interval spans zero.
    assert paired.paired_verdict([-1.0, 1.0, 0.1], 'holds', 'fails')[2] == paired.UNDECIDED
    # One pair has no interval.
    assert paired.paired_verdict([-1.0], 'holds', 'fails')[1:] == (None, paired.UNDECIDED)


def test_paired_comparison_pairs_by_key_only():
    # Only keys 1 and 2 are shared: differences -1 and -1.2, mean -1.1.
    first = {1: 0.0, 2: 0.0, 3: 5.0}
    second = {1: 1.0, 2: 1.2, 4: 9.0}
    row = paired.paired_comparison(first, second, 'holds', 'fails')
    assert row['pairs'] == 2 and abs(row['difference'] + 1.1) < 1e-12
    assert row['first'] == 0.0 and abs(row['second'] - 1.1) < 1e-12
    assert paired.paired_comparison({1: 0.0}, {2: 0.0}, 'holds', 'fails') is None


def test_smoke_comparison_runs_every_adapter_on_the_same_episodes(tmp_path):
    result = method_comparison.run('smoke', tmp_path)
    plan = method_comparison.BUDGETS['smoke']
    assert (tmp_path / 'method_comparison.json').is_file()
    cells = len(plan['tasks']) * len(plan['conditions']) + 1
    # Every adapter x training seed x cell x episode seed is a row.
    assert len(result['rows']) == (len(ADAPTERS) * len(plan['train_seeds']) * cells
                                   * plan['eval_seeds'])
    claims = method_comparison.claims()
    assert [row['claim'] for row in result['comparisons']] == [c[0] for c in claims]
    held_out = len(plan['train_seeds']) * (cells - 1) * plan['eval_seeds']
    check = len(plan['train_seeds']) * plan['eval_seeds']
    assert [row['pairs'] for row in result['comparisons']] == [
        check if c[3] == 'check' else held_out for c in claims]
    assert all(row['verdict'] in ('holds', 'fails', paired.UNDECIDED)
               for row in result['comparisons'])
    # Common random numbers: every adapter ran the same episodes (same seeds, same
    # start), so the differences pair like with like.
    text = method_comparison.report(result)
    assert 'verdict' in text and 'cells won' in text and 'projected' in text
    assert result['best_post_hoc'] in method_comparison.ADAPTIVE
