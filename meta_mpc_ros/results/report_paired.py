"""
The paired verdicts of docs/RESULTS.md section 2.

Every method of the closed-loop grid drives the same episode seeds in every cell
(common random numbers), so the grid's costs pair up: the same claims as
results.method_comparison (each adaptive method against MB+DE and MB, pooled over the
held-out cells and seeds, a 95 % interval and a verdict) are judged on the shipped
models. The comparison over several training seeds (method_comparison.json) follows.
"""

from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.roles import BASELINE_ADAPTER, DYNAMIC_EVALUATION_BASELINE
from meta_mpc_ros.results import method_comparison, paired
from meta_mpc_ros.results.closed_loop import METHODS


def grid_rows(closed_loop, value='cost'):
    """
    Return the grid's episodes as method_comparison rows (one training seed: 0).

    :param value: the episode entry the rows carry as their `cost` (`distance_mean_m`
        pairs the tracking distances instead).
    """
    training = closed_loop.get('training_condition', 'carpet')
    check = (method_comparison.CHECK_CELL[0], training)
    rows = []
    for row in closed_loop['episodes']:
        if (row['task'], row['condition']) == check:
            group = 'check'
        else:
            group = 'held_out' if row['condition'] != training else 'training'
        rows.append({'adapter': METHODS[row['method']], 'group': group, 'train_seed': 0,
                     'task': row['task'], 'condition': row['condition'],
                     'episode': row['seed'], 'cost': row[value]})
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


# Section 3: the paper's ordering, judged per family on paired returns (higher is better):
# each adaptive method (its table label; section 2 counts them too) against each baseline.
ADAPTIVE_LABELS = tuple(ADAPTERS[name].label for name in method_comparison.ADAPTIVE)
BASELINE_LABELS = tuple(ADAPTERS[name].label
                        for name in (BASELINE_ADAPTER, DYNAMIC_EVALUATION_BASELINE))


def _returns(result, method):
    """Return (task, episode index) -> return of one method in one family."""
    return {(task, index): value for task, entry in result['results'].items()
            if method in entry['methods']
            for index, value in enumerate(entry['methods'][method]['returns'])}


def legged_paired_section(data):
    """
    Return section 3's paired verdicts in Markdown.

    Each adaptive method's return minus MB's and MB+DE's per family, on the same
    evaluation seeds, with a 95 % interval.
    """
    rows, families_won = [], []
    for family, result in data['families'].items():
        won_by = []
        for method in ADAPTIVE_LABELS:
            verdicts = []
            for baseline in BASELINE_LABELS:
                row = paired.paired_comparison(_returns(result, method),
                                               _returns(result, baseline), 'fails', 'holds')
                if row is None:
                    continue
                verdicts.append(row['verdict'])
                rows.append([family, f'{method} returns more than {baseline}',
                             f'{row["first"]:.4g}', f'{row["second"]:.4g}',
                             paired.interval_text(row), str(row['pairs']), row['verdict']])
            if verdicts and all(verdict == 'holds' for verdict in verdicts):
                won_by.append(method)
        if won_by:
            families_won.append(f'{family} ({", ".join(won_by)})')
    lines = ['| family | claim (first minus second) | first | second | difference, 95 % CI '
             '| pairs | verdict |', '|---|---|---|---|---|---|---|']
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    count = len(families_won)
    return ('\n**Paired returns.** Every method runs the same evaluation seeds on each test '
            'task, so returns pair up (same task, same seed); first minus second with a 95 % '
            "Student's t interval: **holds** when it lies above zero (the adaptive method "
            'returns more), **fails** below, **undecided** when it spans zero.\n\n'
            + '\n'.join(lines) + '\n\n'
            f'- An adaptive method returns more than both MB and MB+DE, intervals above zero, '
            f'on {count} of {len(data["families"])} families (target: at least 3): '
            + ('**met**' if count >= 3 else '**missed**')
            + (f': {"; ".join(families_won)}' if families_won else '') + '\n')
