"""
Section 2 for another robot with path tasks (closed_loop_<robot>.json): the diff-drive base.

The same grid as the millirobot's (results.closed_loop): each of the robot's tasks on
its training floor and under each of its held-out conditions, every method on the same
episode seeds. Rendered: the mean cost per condition, the mean distance to the path,
the paired verdicts on cost and on tracking distance, the distance after a switch of
world mid-episode, and the base's targets (issue "A mobile base on /cmd_vel").
"""

from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.roles import BASELINE_ADAPTER
from meta_mpc_ros.results import method_comparison, paired
from meta_mpc_ros.results.closed_loop import METHODS
from meta_mpc_ros.results.markdown import provenance, table
from meta_mpc_ros.results.report_paired import ADAPTIVE_LABELS, grid_rows, verdict_lines
import numpy as np

# On the training floor the base follows the figure-8 within this mean distance (m).
FIGURE8_DISTANCE_TARGET_M = 0.05
BASELINE = ADAPTERS[BASELINE_ADAPTER].label
ADAPTIVE = ADAPTIVE_LABELS


def _episodes(data, condition, method):
    """Return the episodes of one condition and method."""
    return [row for row in data['episodes']
            if row['condition'] == condition and row['method'] == method]


def _row(label, values, methods, digits):
    """Return a table row: label, then each method's mean ± std, the lowest in bold."""
    means = {method: float(np.mean(values[method])) for method in methods}
    cells = [f'{means[method]:.{digits}f} ± {np.std(values[method]):.{digits}f}'
             for method in methods]
    best = methods.index(min(means, key=means.get))
    cells[best] = f'**{cells[best]}**'
    return [label] + cells


def _condition_table(data, methods, value, digits):
    """Return a condition x method table of a value's mean over tasks and seeds, +- std."""
    return table(['condition'] + list(methods), [
        _row(condition, {method: [row[value] for row in _episodes(data, condition, method)]
                         for method in methods}, methods, digits)
        for condition in data['conditions']])


def _tracking_comparisons(data):
    """Return each adaptive method's paired tracking distance minus MB's (held out)."""
    distances = {}
    for row in grid_rows(data, value='distance_mean_m'):
        if row['group'] == 'held_out':
            distances.setdefault(row['adapter'], {})[
                (row['task'], row['condition'], row['episode'])] = row['cost']
    result = []
    for label in ADAPTIVE:
        if METHODS[label] in distances and METHODS[BASELINE] in distances:
            row = paired.paired_comparison(distances[METHODS[label]],
                                           distances[METHODS[BASELINE]],
                                           method_comparison.HOLDS, method_comparison.FAILS)
            result.append(dict(row, claim=f'{label} tracks closer than {BASELINE}'))
    return result


def _switch_text(data, methods):
    """Return the switch episodes' table, paired verdicts against MB and target line."""
    switch, episodes = data['switch'], data['switch_episodes']
    distances = {}
    for row in episodes:
        distances.setdefault(row['method'], {})[(row['switch'][1], row['seed'])] = \
            row['distance_after_switch_m']
    rows = [_row(condition, {method: [value for (to, _), value in distances[method].items()
                                      if to == condition] for method in methods},
                 methods, 4)
            for condition in switch['to']]
    comparisons = []
    for label in ADAPTIVE:
        row = paired.paired_comparison(distances[label], distances[BASELINE],
                                       method_comparison.HOLDS, method_comparison.FAILS)
        comparisons.append(dict(row, claim=f'{label} tracks closer than {BASELINE}'))
    closer = [row['claim'].split(' ')[0] for row in comparisons
              if row['verdict'] == method_comparison.HOLDS]
    pairs = len(distances[BASELINE])
    verdicts = verdict_lines({'comparisons': comparisons},
                             f'{data["robot"]}, after a switch, distance to the path')
    return (f"\nAfter a switch: the {switch['task']} begun on {switch['from']}, the world "
            f"switched at step {switch['step']} to each held-out condition, "
            f"{data['seeds']} seeds each; mean distance to the path after the switch (m), "
            'mean ± std over the seeds:\n\n' + table(['switched to'] + list(methods), rows)
            + '\n\n' + verdicts
            + '- After a switch to a held-out condition an adaptive method tracks closer than '
            f'MB, interval below zero ({pairs} pairs): '
            + (f'**met** ({", ".join(closer)})' if closer else '**missed**') + '\n')


def robot_closed_loop_section(data, methods):
    """
    Return the Markdown subsection of a robot's closed-loop grid.

    :param data: closed_loop_<robot>.json.
    :param methods: the method labels to show, in order.
    """
    robot, training = data['robot'], data['training_condition']
    held_out = [condition for condition in data['conditions'] if condition != training]
    text = (f'\n### {robot} in closed loop\n\n'
            f"Each of the base's tasks ({', '.join(data['tasks'])}) on its training floor "
            f"({training}) and under each of its held-out conditions ({', '.join(held_out)}), "
            f"{data['seeds']} episode seeds per cell (a seed places the base at its start, "
            'sim/diff_drive_sim.py), every method on the same seeds, MPPI '
            "with each method's shipped model in closed loop (`meta-mpc bench all --only "
            f'closed_loop --robots {robot}`, in-process; the lockstep graph gives the same '
            'episodes, `meta-mpc evaluate --through-graph`). Mean over tasks and seeds, '
            'with the standard deviation over them.\n\n' + provenance(data) + '\n')
    text += ('Episode task cost (lower is better):\n\n'
             + _condition_table(data, methods, 'cost', 3)
             + '\n\nMean distance to the path (m):\n\n'
             + _condition_table(data, methods, 'distance_mean_m', 4) + '\n')
    comparisons = {'comparisons': method_comparison.compare(grid_rows(data))}
    tracking = _tracking_comparisons(data)
    pairs = len(held_out) * len(data['tasks']) * data['seeds']
    text += ('\n**Paired differences** (first minus second, pooled over the '
             f'{len(held_out) * len(data["tasks"])} held-out cells x {data["seeds"]} seeds, 95 % '
             "Student's t interval; one training seed per method):\n\n"
             + method_comparison.table(comparisons) + '\n\n'
             + verdict_lines({'comparisons': tracking}, f'{robot}, mean distance to the path'))
    if 'figure8' in data['tasks']:
        figure8 = {method: float(np.mean([row['distance_mean_m']
                                          for row in _episodes(data, training, method)
                                          if row['task'] == 'figure8']))
                   for method in methods}
        worst = max(figure8, key=figure8.get)
        met = figure8[worst] <= FIGURE8_DISTANCE_TARGET_M
        text += (f'\n- Figure-8 on {training}, mean distance to the path, every method <= '
                 f'{FIGURE8_DISTANCE_TARGET_M} m: **{"met" if met else "missed"}** (worst '
                 f'{worst} {figure8[worst]:.4f} m, best '
                 f'{min(figure8.values()):.4f} m)\n')
    closer = [row['claim'].split(' ')[0] for row in tracking
              if row['verdict'] == method_comparison.HOLDS]
    text += ('- On the held-out conditions an adaptive method tracks closer than MB, interval '
             f'below zero ({pairs} pairs): '
             + (f'**met** ({", ".join(closer)})' if closer else '**missed**') + '\n')
    if data.get('switch_episodes'):
        text += _switch_text(data, methods)
    return text
