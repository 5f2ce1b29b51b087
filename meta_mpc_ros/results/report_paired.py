"""
The paired verdicts of docs/RESULTS.md section 2.

Every method of the closed-loop grid drives the same episode seeds in every cell
(common random numbers), so the grid's costs pair up: the same claims as
results.method_comparison (each adaptive method against MB+DE and MB, pooled over the
held-out cells and seeds, a 95 % interval and a verdict) are judged on the shipped
models. The comparison over several training seeds (method_comparison.json) follows.
"""

from meta_mpc_ros.results import method_comparison, paired
from meta_mpc_ros.results.closed_loop import METHODS


def grid_rows(closed_loop):
    """Return the grid's episodes as method_comparison rows (one training seed: 0)."""
    rows = []
    for row in closed_loop['episodes']:
        if (row['task'], row['condition']) == method_comparison.CHECK_CELL:
            group = 'check'
        else:
            group = 'held_out' if row['condition'] != 'carpet' else 'training'
        rows.append({'adapter': METHODS[row['method']], 'group': group, 'train_seed': 0,
                     'task': row['task'], 'condition': row['condition'],
                     'episode': row['seed'], 'cost': row['cost']})
    return rows


def verdict_lines(result, prefix):
    """Return one line per claim: '- <prefix>, <claim>: **verdict** (interval, pairs)'."""
    return ''.join(f'- {prefix}, {row["claim"]}: **{row["verdict"]}** '
                   f'({paired.interval_text(row)}, {row["pairs"]} pairs)\n'
                   for row in result['comparisons'])


def paired_section(closed_loop, comparison=None):
    """
    Return section 2's paired verdicts in Markdown.

    :param closed_loop: closed_loop.json.
    :param comparison: method_comparison.json, or None when it was not run.
    """
    held_out = sorted({(row['task'], row['condition']) for row in closed_loop['episodes']
                       if row['condition'] != 'carpet'})
    result = {'comparisons': method_comparison.compare(grid_rows(closed_loop))}
    text = ('\n**Paired differences.** Every method drives the same episode seeds in every '
            'cell, so costs pair up (same cell, same seed). First minus second, pooled over '
            f'the {len(held_out)} held-out cells x {closed_loop["seeds"]} seeds, 95 % '
            "Student's t interval; **holds** when it lies below zero, **fails** above, "
            '**undecided** when it spans zero. The shipped models are one training seed '
            'each, so these intervals say nothing about training noise:\n\n'
            + method_comparison.table(result) + '\n\n'
            + verdict_lines(result, 'Shipped models'))
    if comparison:
        plan = comparison['plan']
        text += ('\n**Over training seeds** ([method_comparison.md](method_comparison.md)): '
                 f'the same claims with models trained from scratch on '
                 f'{len(plan["train_seeds"])} training seeds ({plan["hidden"][0]} x '
                 f'{len(plan["hidden"])} models, random-action data), {plan["eval_seeds"]} '
                 'episode seeds per cell on figure-8 under each held-out condition, budget '
                 f'`{comparison["budget"]}`:\n\n' + method_comparison.table(comparison)
                 + '\n\n' + verdict_lines(comparison, 'Over training seeds'))
    return text
