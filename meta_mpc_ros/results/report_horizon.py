"""
Section 1b of docs/RESULTS.md: the model over the planner's horizon, on its own trajectories.

Read from the closed-loop grid's episodes (closed_loop.json, section 2): at every step
the model the planner used is rolled out open loop over the next H executed actions
(pipeline.episodes). The one-step error of section 1 does not predict control; this
does, and the section says by how much (rank correlations with the episode's cost).
"""

from meta_mpc_ros.core.adapters import ADAPTERS, ContinualAdapter, GrBALAdapter
from meta_mpc_ros.results.markdown import number, table
import numpy as np

METRICS = (('error_after', 'one-step error'), ('horizon_position_m', 'position at H (m)'),
           ('horizon_heading_rad', 'heading at H (rad)'),
           ('horizon_state_nmse', 'normalised over H'))
# method -> the largest ratio of its horizon position error to MB's (issue targets).
TARGETS = {ADAPTERS[GrBALAdapter.name].label: 0.8, ADAPTERS[ContinualAdapter.name].label: 0.7}


def _ranks(values):
    """Return the ranks of values (0 = smallest; ties get the mean rank)."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind='stable')
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def rank_correlation(a, b):
    """Return Spearman's rank correlation of two equal-length sequences (NaN if < 3)."""
    if len(a) < 3:
        return float('nan')
    ranked_a, ranked_b = _ranks(a), _ranks(b)
    if ranked_a.std() == 0 or ranked_b.std() == 0:
        return float('nan')
    return float(np.corrcoef(ranked_a, ranked_b)[0, 1])


def _mean(rows, key):
    values = [row[key] for row in rows if row.get(key) is not None]
    return float(np.mean(values)) if values else None


def horizon_section(closed_loop, horizon):
    """
    Return the Markdown of section 1b, or '' when the grid has no horizon errors.

    :param closed_loop: closed_loop.json (its `episodes` rows).
    :param horizon: H, the planner's horizon the errors were measured over.
    """
    episodes = [row for row in closed_loop.get('episodes', [])
                if row.get('horizon_position_m') is not None]
    if not episodes:
        return ''
    methods = list(dict.fromkeys(row['method'] for row in episodes))
    conditions = list(dict.fromkeys(row['condition'] for row in episodes))
    text = ("### millirobot: over the planner's horizon, on each method's own closed-loop "
            'trajectories\n\n'
            f'Every episode of section 2 ({closed_loop["seeds"]} seeds x '
            f'{len(closed_loop["tasks"])} tasks per condition): at every step the model the '
            f'planner used is rolled out open loop over the next H = {horizon} executed '
            'actions and compared with the states reached. Position error at the horizon '
            '(m), mean over steps and episodes; lower is better.\n\n')
    rows, ratios = [], {}
    for condition in conditions:
        chosen = [row for row in episodes if row['condition'] == condition]
        means = {m: _mean([r for r in chosen if r['method'] == m], 'horizon_position_m')
                 for m in methods}
        best = min(means, key=means.get)
        rows.append([condition] + [f'**{number(means[m])}**' if m == best else number(means[m])
                                   for m in methods])
        if condition != 'carpet' and 'MB' in means:
            for method in methods:
                ratios.setdefault(method, []).append(means[method] / means['MB'])
    text += table(['condition'] + methods, rows)
    held_out = [row for row in episodes if row['condition'] != 'carpet']
    text += ('\nMean over the held-out conditions, each metric of each method against '
             "MB's (ratio below 1: better than MB):\n\n")
    summary = []
    for method in methods:
        chosen = [row for row in held_out if row['method'] == method]
        baseline = [row for row in held_out if row['method'] == 'MB']
        summary.append([method] + [
            f'{number(_mean(chosen, key))} ({number(_mean(chosen, key) / _mean(baseline, key))}x)'
            if _mean(chosen, key) is not None else '-' for key, _ in METRICS])
    text += table(['method'] + [label for _, label in METRICS], summary)
    text += '\n'
    for method, target in TARGETS.items():
        if method in ratios:
            value = float(np.mean(ratios[method]))
            text += (f'- {method} / MB, horizon position error, mean ratio over the held-out '
                     f'conditions: {number(value)} (target <= {number(target)}): '
                     + ('**met**' if value <= target else '**missed**') + '\n')
    correlations = {key: [] for key, _ in METRICS}
    for condition in conditions:
        for task in closed_loop['tasks']:
            cell = [row for row in episodes
                    if row['condition'] == condition and row['task'] == task]
            for key in correlations:
                kept = [row for row in cell if row.get(key) is not None]
                correlations[key].append(rank_correlation([r['cost'] for r in kept],
                                                          [r[key] for r in kept]))
    text += ("\nDoes the error predict control? Rank correlation between an episode's "
             'cost and its error, within each (task, condition) cell over methods and seeds, '
             'mean over cells: '
             + ', '.join(f'{label} {number(float(np.nanmean(correlations[key])), 2)}'
                         for key, label in METRICS) + '.\n\n')
    return text
