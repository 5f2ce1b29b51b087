"""
Does adaptation beat MB and MB+DE in closed loop? Paired statistics that decide.

    python -m meta_mpc_ros.results.method_comparison --budget smoke|small|full --out DIR

For each training seed, every training method the registered adapters ship with is
trained from scratch on the same random-action data of the millirobot's training world
(the same data, model size and iterations; a method with a `warm_start` in
core.objectives.METHODS starts from that method's checkpoint of the same seed, as the
Makefile's models recipe does, with half the iterations). Every adapter then drives
the robot in closed loop on the held-out cells (task x held-out condition) and on the
check cell (straight on carpet), all on the same episode seeds (common random numbers).

The claims are fixed before the run: each adaptive method (GrBAL, the paper's method,
first) costs less than MB+DE and less than MB on the held-out cells; MB+DE costs less
than MB (context); ReBAL on straight on carpet is no worse than MB. Each is a paired
difference (same training seed, cell and episode seed; first minus second), pooled
over cells and training seeds, with a 95 % Student's t interval: 'holds' when the
interval lies below zero, 'fails' when above, 'undecided' when it spans zero. The
adaptive method with the lowest mean cost is named too, marked as chosen after the run.
"""

import json
import time

from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.objectives import METHODS
from meta_mpc_ros.core.roles import (BASELINE_ADAPTER, DEFAULT_ADAPTER,
                                     DYNAMIC_EVALUATION_BASELINE)
from meta_mpc_ros.results import paired
from meta_mpc_ros.results.closed_loop import summarise
from meta_mpc_ros.results.common import machine
from meta_mpc_ros.sim.conditions import TEST_CONDITIONS
import numpy as np

# The adapter the claims name beyond the roles, found by its table label.
LABELS = {spec.label: name for name, spec in ADAPTERS.items()}
DYNAMIC_EVALUATION = DYNAMIC_EVALUATION_BASELINE
RECURRENT = LABELS['ReBAL']
# Adaptive: every adapter with a checkpoint of its own (not MB's); the paper's first.
ADAPTIVE = tuple(sorted((name for name, spec in ADAPTERS.items()
                         if spec.training_method != ADAPTERS[BASELINE_ADAPTER].training_method),
                        key=lambda name: name != DEFAULT_ADAPTER))
CHECK_CELL = ('straight', 'carpet')
HOLDS, FAILS = 'holds', 'fails'

BUDGETS = {
    'smoke': {'episodes': 8, 'hidden': (32, 32), 'iterations': 40, 'train_seeds': (0,),
              'eval_seeds': 2, 'steps': 25, 'tasks': ('figure8',),
              'conditions': ('missing_leg',)},
    'small': {'episodes': 60, 'hidden': (128, 128), 'iterations': 1000,
              'train_seeds': (0, 1, 2), 'eval_seeds': 10, 'steps': 80, 'tasks': ('figure8',),
              'conditions': TEST_CONDITIONS},
    'full': {'episodes': 120, 'hidden': (256, 256), 'iterations': 2000,
             'train_seeds': (0, 1, 2), 'eval_seeds': 10, 'steps': 150,
             'tasks': ('figure8',), 'conditions': TEST_CONDITIONS},
}
# What a cluster would run (projected from the measured run, never run here): the
# paper's 3 x 512 model and 3000 iterations, 5 training seeds, 20 episode seeds, every
# task under every held-out condition, 200-step episodes.
PAPER = {'hidden': (512, 512, 512), 'iterations': 3000, 'train_seeds': 5, 'eval_seeds': 20,
         'steps': 200, 'cells': 4 * len(TEST_CONDITIONS) + 1}


def training_methods():
    """Return the training methods the adapters ship with, warm-start sources first."""
    methods = list(dict.fromkeys(spec.training_method for spec in ADAPTERS.values()))
    return sorted(methods, key=lambda method: METHODS[method].warm_start is not None)


def claims():
    """Return the pre-specified claims: (name, first adapter, second adapter, cells)."""
    label = {name: spec.label for name, spec in ADAPTERS.items()}
    rows = []
    for adapter in ADAPTIVE:
        for other in (DYNAMIC_EVALUATION, BASELINE_ADAPTER):
            rows.append((f'{label[adapter]} costs less than {label[other]}', adapter, other,
                         'held_out'))
    rows.append((f'{label[DYNAMIC_EVALUATION]} costs less than {label[BASELINE_ADAPTER]} '
                 '(context)', DYNAMIC_EVALUATION, BASELINE_ADAPTER, 'held_out'))
    rows.append((f'{label[RECURRENT]} no worse than {label[BASELINE_ADAPTER]} on straight '
                 'on carpet', RECURRENT, BASELINE_ADAPTER, 'check'))
    return rows


def run(budget='small', out='runs/method_comparison', seed=0):
    """Train, evaluate and compare; write method_comparison.json in `out`; return it."""
    plan, out, start, base, dataset = paired.begin(BUDGETS, budget, out, seed)
    collect_seconds = time.perf_counter() - start
    cells = [(task, condition, 'held_out') for task in plan['tasks']
             for condition in plan['conditions']] + [CHECK_CELL + ('check',)]
    rows, trainings = [], []
    for train_seed in plan['train_seeds']:
        paths = {}
        for method in training_methods():
            source = METHODS[method].warm_start
            iterations = plan['iterations'] // (2 if source else 1)
            config = paired.seeded_config(base, plan['hidden'], iterations, train_seed)
            paths[method] = out / f'{method}_seed{train_seed}.pt'
            seconds = paired.train_seeded(config, method, dataset, paths[method],
                                          paths.get(source))
            trainings.append({'train_seed': train_seed, 'method': method,
                              'iterations': iterations, 'seconds': seconds})
            print(f'{method} seed {train_seed}: trained in {seconds:.0f} s', flush=True)
        for adapter, spec in ADAPTERS.items():
            evaluated = time.perf_counter()
            for task, condition, group in cells:
                details, _ = paired.closed_loop(base, paths[spec.training_method], adapter,
                                                condition, plan['eval_seeds'], seed + 100,
                                                plan['steps'], task)
                rows.extend({'train_seed': train_seed, 'adapter': adapter,
                             'method': spec.label, 'task': task, 'condition': condition,
                             'group': group, 'episode': index, 'cost': detail['cost'],
                             'steps': detail['steps']}
                            for index, detail in enumerate(details))
            print(f'{adapter} seed {train_seed}: evaluated in '
                  f'{time.perf_counter() - evaluated:.0f} s', flush=True)
    wall = time.perf_counter() - start
    result = {'budget': budget, 'seed': seed,
              'plan': {k: list(v) if isinstance(v, tuple) else v for k, v in plan.items()},
              'transitions': dataset.steps, 'rows': rows, 'trainings': trainings,
              'comparisons': compare(rows), 'best_post_hoc': best_post_hoc(rows),
              'cells': summarise([r for r in rows if r['group'] == 'held_out']),
              'collect_seconds': collect_seconds, 'wall_minutes': wall / 60.0,
              'machine': machine()}
    result['budget_table'] = budget_table(result)
    (out / 'method_comparison.json').write_text(json.dumps(result, indent=1))
    return result


def _costs(rows, adapter, group):
    """Return (train seed, task, condition, episode) -> cost of one adapter in a group."""
    return {(r['train_seed'], r['task'], r['condition'], r['episode']): r['cost']
            for r in rows if r['adapter'] == adapter and r['group'] == group}


def compare(rows):
    """Return every pre-specified claim's paired difference, interval and verdict."""
    comparisons = []
    for name, first, second, group in claims():
        row = paired.paired_comparison(_costs(rows, first, group), _costs(rows, second, group),
                                       HOLDS, FAILS)
        if row is not None:
            comparisons.append(dict(row, claim=name, first_adapter=first,
                                    second_adapter=second, cells=group))
    return comparisons


def best_post_hoc(rows):
    """Return the adaptive adapter with the lowest mean held-out cost (chosen after the run)."""
    means = {adapter: float(np.mean(list(_costs(rows, adapter, 'held_out').values())))
             for adapter in ADAPTIVE if _costs(rows, adapter, 'held_out')}
    return min(means, key=means.get) if means else None


def budget_table(result):
    """
    Return what was run and its wall time, and the projection of the paper-sized budget.

    The projection scales the measured per-iteration training time by parameter count
    and the measured per-step episode time by parameter count and step count (the MPPI
    rollouts' cost grows with the model); on a cluster of W workers the trainings of a
    seed run side by side (warm-started ones after their source) and the episodes spread
    over all W.
    """
    plan = result['plan']
    episode_steps = sum(r['steps'] for r in result['rows'])
    train_seconds = sum(t['seconds'] for t in result['trainings'])
    eval_seconds = result['wall_minutes'] * 60.0 - result['collect_seconds'] - train_seconds
    size = _parameters(plan['hidden'])
    scale = _parameters(PAPER['hidden']) / size
    per_iteration = {}
    for t in result['trainings']:
        per_iteration.setdefault(t['method'], []).append(t['seconds'] / t['iterations'])
    per_iteration = {m: float(np.mean(v)) for m, v in per_iteration.items()}
    chain = max(per_iteration[m] * PAPER['iterations']
                / (2 if METHODS[m].warm_start else 1) * scale
                + (per_iteration[METHODS[m].warm_start] * PAPER['iterations'] * scale
                   if METHODS[m].warm_start else 0.0) for m in per_iteration)
    paper_train = sum(per_iteration[m] * PAPER['iterations']
                      / (2 if METHODS[m].warm_start else 1) for m in per_iteration) \
        * scale * PAPER['train_seeds']
    paper_steps = len(ADAPTERS) * PAPER['train_seeds'] * PAPER['cells'] \
        * PAPER['eval_seeds'] * PAPER['steps']
    paper_eval = eval_seconds / episode_steps * scale * paper_steps
    return {'run': {'train_seeds': len(plan['train_seeds']), 'eval_seeds': plan['eval_seeds'],
                    'cells': len(plan['tasks']) * len(plan['conditions']) + 1,
                    'episodes': len(result['rows']), 'episode_steps': episode_steps,
                    'collect_seconds': result['collect_seconds'],
                    'train_seconds': train_seconds, 'eval_seconds': eval_seconds,
                    'wall_minutes': result['wall_minutes']},
            'paper': dict(PAPER, hidden=list(PAPER['hidden']),
                          episodes=paper_steps // PAPER['steps'],
                          serial_hours=(paper_train + paper_eval) / 3600.0,
                          cluster_64_hours=(chain + paper_eval / 64.0) / 3600.0)}


def _parameters(hidden):
    """Return the weight count of the hidden layers' chain (the part that grows)."""
    return sum(a * b for a, b in zip(hidden[:-1], hidden[1:])) + 30 * (hidden[0] + hidden[-1])


def table(result):
    """Return the claims as a Markdown table."""
    lines = ['| claim (first minus second) | first | second | difference, 95 % CI | pairs | '
             'verdict |', '|---|---|---|---|---|---|']
    for row in result['comparisons']:
        lines.append(f'| {row["claim"]} | {row["first"]:.4g} | {row["second"]:.4g} | '
                     f'{paired.interval_text(row)} | {row["pairs"]} | {row["verdict"]} |')
    return '\n'.join(lines)


def cell_table(result):
    """Return the secondary table: mean cost per held-out cell and method, and wins."""
    labels = [spec.label for spec in ADAPTERS.values()]
    means = {(c['task'], c['condition'], c['method']): c['cost_mean']
             for c in result['cells']['cells']}
    cells = sorted({(c['task'], c['condition']) for c in result['cells']['cells']})
    lines = ['| task | condition | ' + ' | '.join(labels) + ' |',
             '|---|---|' + '---|' * len(labels)]
    for task, condition in cells:
        values = [means.get((task, condition, label)) for label in labels]
        lines.append(f'| {task} | {condition} | '
                     + ' | '.join('' if v is None else f'{v:.3g}' for v in values) + ' |')
    wins = result['cells']['wins']
    lines.append('| cells won | | ' + ' | '.join(str(wins.get(label, 0)) for label in labels)
                 + ' |')
    return '\n'.join(lines)


def budget_text(result):
    """Return the budget table in Markdown."""
    run_, paper = result['budget_table']['run'], result['budget_table']['paper']
    return '\n'.join([
        '| budget | training seeds | episode seeds per cell | cells | episodes | '
        'wall time |', '|---|---|---|---|---|---|',
        f'| `{result["budget"]}` (run here) | {run_["train_seeds"]} | {run_["eval_seeds"]} | '
        f'{run_["cells"]} | {run_["episodes"]} | {run_["wall_minutes"]:.1f} min (collect '
        f'{run_["collect_seconds"]:.0f} s, train {run_["train_seconds"]:.0f} s, evaluate '
        f'{run_["eval_seconds"]:.0f} s) |',
        f'| paper-sized (projected) | {paper["train_seeds"]} | {paper["eval_seeds"]} | '
        f'{paper["cells"]} | {paper["episodes"]} | {paper["serial_hours"]:.0f} h serial; '
        f'{paper["cluster_64_hours"]:.1f} h on 64 workers |'])


def verdict_text(result):
    """Return the verdicts in words: which claims hold, which fail, which are undecided."""
    groups = {}
    for row in result['comparisons']:
        interval = (f'{row["claim"]} ({paired.interval_text(row)})')
        groups.setdefault(row['verdict'], []).append(interval)
    words = {HOLDS: 'Holds (interval below zero)',
             FAILS: 'Fails (interval above zero: the first method costs more)',
             paired.UNDECIDED: 'Undecided (interval spans zero)'}
    return '\n'.join(f'- {words[verdict]}: {"; ".join(groups[verdict])}.'
                     for verdict in (HOLDS, FAILS, paired.UNDECIDED) if verdict in groups)


def report(result):
    """Return the Markdown section of a result (its budget, claims, cells and budget)."""
    plan = result['plan']
    best = result['best_post_hoc']
    return (f'_Budget `{result["budget"]}`: {result["transitions"]} random-action '
            f'transitions of the training world, {plan["hidden"][0]} x {len(plan["hidden"])} '
            f'models, {plan["iterations"]} iterations, training seeds '
            f'{", ".join(map(str, plan["train_seeds"]))}; {plan["eval_seeds"]} episode seeds '
            f'x {plan["steps"]} steps in each held-out cell ({", ".join(plan["tasks"])} under '
            f'{", ".join(plan["conditions"])}) and on straight on carpet; '
            f'{result["wall_minutes"]:.1f} min wall time on '
            f'{result["machine"].get("cpu", "this machine")}, '
            f'{result["machine"].get("torch_threads")} torch thread(s)._\n\n'
            + table(result) + '\n\n' + verdict_text(result) + '\n\n'
            + f'Lowest mean held-out cost among the adaptive methods (chosen after the run, '
            f'so not a pre-specified claim): {ADAPTERS[best].label if best else "none"}.\n\n'
            + 'Mean cost per held-out cell (secondary):\n\n' + cell_table(result) + '\n\n'
            + budget_text(result) + '\n')


def main(argv=None):
    """Command line: run the comparison and print its Markdown section."""
    paired.command_line(argv, __doc__.split('\n\n')[0].strip(), BUDGETS,
                        'runs/method_comparison', run, report, threads=1)


if __name__ == '__main__':
    main()
