"""
One-step against multi-step training, at equal budget, judged on what control needs.

    python -m meta_mpc_ros.results.objective_comparison --budget smoke|small|full --out DIR

For each training seed, MB and GrBAL are trained twice on the same random-action data
of the millirobot's training world (the same data, iterations and model size): with
the paper's one-step loss (rollout_steps 1) and with open-loop rollouts over the
planner's horizon (rollout_steps H). Each model then drives the robot in closed loop
on held-out conditions, every variant on the same episode seeds (common random
numbers), and is scored on

    cost           the episode's task cost (lower is better);
    horizon error  on its own closed-loop trajectory: at every step t >= M, the model
                   adapted on the window ending at t is rolled out open loop over the
                   next H executed actions; the position error at the horizon (m).

The verdicts compare multi-step with one-step by paired differences (same training
seed, condition and episode seed), pooled over conditions and training seeds, with a
95 % Student's t interval: "multi-step better" when the interval lies below zero,
"one-step better" above, "undecided" when it spans zero.
"""

import json
import time

from meta_mpc_ros.core.adapters import Window
from meta_mpc_ros.core.checkpoint import load_checkpoint
from meta_mpc_ros.core.roles import BASELINE_ADAPTER, DEFAULT_ADAPTER
from meta_mpc_ros.core.session import AdaptationSession, open_loop_rollout
from meta_mpc_ros.results import paired
from meta_mpc_ros.results.common import machine
from meta_mpc_ros.shipped import adapter_for
import numpy as np
import torch

BUDGETS = {
    'smoke': {'episodes': 8, 'hidden': (32, 32), 'iterations': 60, 'train_seeds': (0, 1),
              'eval_seeds': 2, 'steps': 40, 'conditions': ('missing_leg',)},
    'small': {'episodes': 60, 'hidden': (128, 128), 'iterations': 1000,
              'train_seeds': (0, 1), 'eval_seeds': 4, 'steps': 120,
              'conditions': ('missing_leg', 'miscalibration', 'payload')},
    'full': {'episodes': 120, 'hidden': (256, 256), 'iterations': 2000,
             'train_seeds': (0, 1, 2), 'eval_seeds': 4, 'steps': 150,
             'conditions': ('missing_leg', 'miscalibration', 'payload')},
}
METHODS = (BASELINE_ADAPTER, DEFAULT_ADAPTER)


def horizon_position_errors(checkpoint, adapter, states, actions, past_steps, horizon):
    """
    Return the position error (m) at the horizon of every adapted open-loop rollout.

    :param states: (T+1, nx) one closed-loop trajectory;  actions: (T, nu).
    :return: list of floats, one per step t with M <= t <= T - H.
    """
    names = checkpoint.state_spec.names
    position = [names.index('x'), names.index('y')]
    session = AdaptationSession(checkpoint.model, adapter, checkpoint.params)
    states = torch.as_tensor(np.asarray(states), dtype=torch.float32)
    actions = torch.as_tensor(np.asarray(actions), dtype=torch.float32)
    errors = []
    with torch.no_grad():
        for t in range(past_steps, len(actions) - horizon + 1):
            adapted = session.step(Window(states[t - past_steps:t + 1],
                                          actions[t - past_steps:t]))
            predicted = open_loop_rollout(checkpoint.model, adapted, states[t],
                                          actions[t:t + horizon])
            errors.append(float((predicted[-1, position]
                                 - states[t + horizon, position]).norm()))
    return errors


def paired_verdict(differences):
    """Return (mean, half-width, verdict) of paired differences (multi minus one-step)."""
    return paired.paired_verdict(differences, 'multi-step better', 'one-step better')


def run(budget='small', out='runs/objective_comparison', seed=0):
    """Train, evaluate and compare; write objective_comparison.json in `out`; return it."""
    plan, out, start, base, dataset = paired.begin(BUDGETS, budget, out, seed)
    horizon = base.controller.horizon
    rows = []
    for train_seed in plan['train_seeds']:
        for method in METHODS:
            for rollout_steps in (1, horizon):
                config = paired.seeded_config(base, plan['hidden'], plan['iterations'],
                                              train_seed, rollout_steps=rollout_steps)
                path = out / f'{method}_R{rollout_steps}_seed{train_seed}.pt'
                seconds = paired.train_seeded(config, method, dataset, path)
                checkpoint = load_checkpoint(path)
                for condition in plan['conditions']:
                    details, episodes = paired.closed_loop(
                        config, path, method, condition, plan['eval_seeds'], seed + 100,
                        plan['steps'], threads=2)
                    for index, (detail, episode) in enumerate(zip(details, episodes)):
                        adapter = adapter_for(checkpoint, method, checkpoint.params,
                                              config.adapter_settings(method))
                        errors = horizon_position_errors(
                            checkpoint, adapter, episode.states, episode.actions,
                            config.training.past_steps, horizon)
                        rows.append({'train_seed': train_seed, 'method': method,
                                     'rollout_steps': rollout_steps, 'condition': condition,
                                     'episode': index, 'cost': detail['cost'],
                                     'horizon_error_m': float(np.mean(errors)),
                                     'train_seconds': seconds})
                print(f'{method} R={rollout_steps} seed {train_seed}: trained in '
                      f'{seconds:.0f} s', flush=True)
    result = {'budget': budget, 'plan': {k: list(v) if isinstance(v, tuple) else v
                                         for k, v in plan.items()},
              'horizon': horizon, 'transitions': dataset.steps, 'rows': rows,
              'comparisons': compare(rows, horizon), 'machine': machine(),
              'wall_minutes': (time.perf_counter() - start) / 60.0}
    (out / 'objective_comparison.json').write_text(json.dumps(result, indent=1))
    return result


def compare(rows, horizon):
    """Return per method and metric the paired multi-minus-one-step verdict."""
    comparisons = []
    for method in METHODS:
        for metric in ('cost', 'horizon_error_m', 'train_seconds'):
            one = {(r['train_seed'], r['condition'], r['episode']): r[metric] for r in rows
                   if r['method'] == method and r['rollout_steps'] == 1}
            multi = {(r['train_seed'], r['condition'], r['episode']): r[metric] for r in rows
                     if r['method'] == method and r['rollout_steps'] == horizon}
            row = paired.paired_comparison(multi, one, 'multi-step better',
                                           'one-step better')
            if row is None:
                continue
            comparisons.append({'method': method, 'metric': metric, 'pairs': row['pairs'],
                                'one_step': row['second'], 'multi_step': row['first'],
                                'difference': row['difference'],
                                'half_width': row['half_width'], 'verdict': row['verdict']})
    return comparisons


def table(result):
    """Return the comparison as a Markdown table."""
    lines = ['| method | metric | one-step | multi-step (R = H) | difference, 95 % CI | '
             'pairs | verdict |', '|---|---|---|---|---|---|---|']
    for row in result['comparisons']:
        lines.append(f'| {row["method"]} | {row["metric"]} | {row["one_step"]:.4g} | '
                     f'{row["multi_step"]:.4g} | {paired.interval_text(row)} | '
                     f'{row["pairs"]} | {row["verdict"]} |')
    return '\n'.join(lines)


def report(result):
    """Return the Markdown section of a result (its budget, wall time and table)."""
    plan = result['plan']
    return (f'_Budget `{result["budget"]}`: {result["transitions"]} random-action '
            f'transitions of the training world, {plan["hidden"][0]} x {len(plan["hidden"])} '
            f'models, {plan["iterations"]} iterations, training seeds '
            f'{", ".join(map(str, plan["train_seeds"]))}; {plan["eval_seeds"]} episode seeds '
            f'x {plan["steps"]} steps on each of {", ".join(plan["conditions"])} (held out), '
            f'figure-8; H = {result["horizon"]}; {result["wall_minutes"]:.1f} min wall time '
            f'on {result["machine"].get("cpu", "this machine")}._\n\n' + table(result) + '\n')


def main(argv=None):
    """Command line: run the comparison and print its Markdown section."""
    paired.command_line(argv, __doc__.split('\n\n')[0].strip(), BUDGETS,
                        'runs/objective_comparison', run, report)


if __name__ == '__main__':
    main()
