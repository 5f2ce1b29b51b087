"""The one-step against multi-step comparison runs end to end and pairs what it compares."""

from meta_mpc_ros.results import objective_comparison


def test_paired_verdicts_follow_the_interval():
    assert objective_comparison.paired_verdict([-1.0, -1.1, -0.9])[2] == 'multi-step better'
    assert objective_comparison.paired_verdict([1.0, 1.1, 0.9])[2] == 'one-step better'
    assert objective_comparison.paired_verdict([-1.0, 1.0, 0.1])[2] == 'undecided'
    assert objective_comparison.paired_verdict([-1.0])[2] == 'undecided'


def test_smoke_comparison_trains_both_objectives_on_every_seed(tmp_path):
    result = objective_comparison.run('smoke', tmp_path)
    plan = objective_comparison.BUDGETS['smoke']
    assert (tmp_path / 'objective_comparison.json').is_file()
    # Every method x objective x training seed x condition x episode seed is a row.
    assert len(result['rows']) == (len(objective_comparison.METHODS) * 2
                                   * len(plan['train_seeds']) * len(plan['conditions'])
                                   * plan['eval_seeds'])
    pairs = {row['pairs'] for row in result['comparisons']}
    assert pairs == {len(plan['train_seeds']) * len(plan['conditions']) * plan['eval_seeds']}
    assert all(row['horizon_error_m'] > 0.0 for row in result['rows'])
    assert 'verdict' in objective_comparison.table(result)
