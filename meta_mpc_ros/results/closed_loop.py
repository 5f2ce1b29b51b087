"""
Section 2 of the results: fast adaptation in closed loop on the millirobot.

Every trajectory-following task (straight, left turn, zig-zag, figure-8) is run under
every held-out condition of the paper (missing leg, slippery slope, novel terrain,
miscalibration, payload) and on carpet, with MB, MB+DE, GrBAL, ReBAL and the continual
adapter planning with MPPI, in-process (pipeline.evaluate), over several seeds. The
cost is the episode's total task cost (lower is better). Episodes run in parallel
processes, one torch thread each; every episode has its own seed.
"""

import multiprocessing
import os

from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.reference import TASKS
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.results import cells
from meta_mpc_ros.results.common import (figure_path, plan_of, Stopwatch,
                                         write_json)
from meta_mpc_ros.shipped import shipped_checkpoint
from meta_mpc_ros.sim.conditions import TEST_CONDITIONS
import numpy as np

# method label -> adapter, from the adapter registry.
METHODS = {spec.label: name for name, spec in ADAPTERS.items()}
BUDGET = {'smoke': {'tasks': ('straight',), 'conditions': ('carpet', 'payload'),
                    'seeds': 1, 'steps': 20},
          'full': {'tasks': TASKS, 'conditions': ('carpet',) + TEST_CONDITIONS,
                   'seeds': 3, 'steps': 0}}


def episode(run, settings):
    """
    Run one evaluation episode; return its row (pool workers and results.cells.rerun).

    :param run: the EvaluateRequest arguments (robot_config aside) and the method label.
    :param settings: results.cells.episode_settings of the robot config to plan with.
    :return: the row: method, task, condition, seed, cost and the other numbers, and
        `run`, which re-runs it (results.cells).
    """
    from meta_mpc_ros.pipeline.evaluate import episode_seeds, evaluate, EvaluateRequest
    arguments = {key: value for key, value in run.items()
                 if key not in cells.RECORD_ONLY + ('method',)}
    report, _ = evaluate(EvaluateRequest(robot_config=cells.robot_config(settings),
                                         **arguments))
    detail = report['details'][0]
    record = dict(arguments, checkpoint_path=cells.portable_path(run['checkpoint_path']),
                  checkpoint_digest=report['checkpoint_hash'],
                  episode_seed=episode_seeds(run['seed'], 1)[0],
                  settings_digest=cells.settings_digest(settings),
                  commit=cells.code_version())
    return {'method': run['method'], 'task': run['task'], 'condition': run['condition'],
            'seed': run['seed'], 'cost': detail['cost'], 'steps': detail['steps'],
            'distance_mean_m': detail.get('distance_mean_m'),
            'progress_m': detail.get('progress_m'),
            'error_before': detail['prediction_error_before'],
            'error_after': detail['prediction_error_after'],
            'horizon_position_m': detail['horizon_position_m'],
            'horizon_heading_rad': detail['horizon_heading_rad'],
            'horizon_state_nmse': detail['horizon_state_nmse'],
            'step_ms': detail['step_ms_median'], 'run': record}


def _episode(job):
    """Run one (run, settings) job on one torch thread (pool worker)."""
    import torch
    torch.set_num_threads(1)
    return episode(*job)


def run(budget='full', seed=0, out='docs', checkpoints=None, workers=0):
    """Run the closed-loop grid; write closed_loop.json and its figure."""
    data = run_grid(budget, seed, checkpoints, workers)
    write_json('closed_loop', data, out)
    plot(data['summary'], plan_of(BUDGET, budget), figure_path('closed_loop', out))
    return data


def run_grid(budget='full', seed=0, checkpoints=None, workers=0):
    """
    Run every episode of the closed-loop grid; return the JSON-ready result.

    :param budget: a key of common.BUDGETS (its plan in BUDGET).
    :param seed: the first episode's seed; the seeds of a cell are seed, seed + 1, ...
    :param checkpoints: adapter -> checkpoint path (default: the shipped ones).
    :param workers: episode processes (0: one per core).
    """
    plan = plan_of(BUDGET, budget)
    checkpoints = checkpoints or {adapter: str(shipped_checkpoint('millirobot', adapter))
                                  for adapter in METHODS.values()}
    settings = cells.episode_settings(load_robot_config('millirobot'))
    jobs = [({'method': method, 'adapter': adapter, 'checkpoint_path': checkpoints[adapter],
              'task': task, 'condition': condition, 'switch': None, 'episodes': 1,
              'seed': seed + index, 'steps': plan['steps'], 'device': 'cpu', 'threads': 1},
             settings)
            for task in plan['tasks'] for condition in plan['conditions']
            for index in range(plan['seeds']) for method, adapter in METHODS.items()]
    workers = workers or os.cpu_count() or 1
    with Stopwatch() as watch:
        if workers == 1:
            rows = [_episode(job) for job in jobs]
        else:
            with multiprocessing.get_context('spawn').Pool(workers) as pool:
                rows = pool.map(_episode, jobs, chunksize=1)
    return {'budget': budget, 'seed': seed, 'seeds': plan['seeds'], 'tasks': plan['tasks'],
            'conditions': plan['conditions'],
            'checkpoints': {adapter: cells.portable_path(path)
                            for adapter, path in checkpoints.items()},
            'settings': {cells.settings_digest(settings): settings},
            'commit': cells.code_version(), 'episodes': rows, 'summary': summarise(rows),
            'wall_seconds': watch.seconds,
            'transitions': int(sum(row['steps'] for row in rows)),
            'sim_hours': sum(row['steps'] for row in rows) * 0.1 / 3600}


def summarise(rows):
    """Return mean and std of cost per (task, condition, method), and wins per method."""
    table = {}
    for row in rows:
        table.setdefault((row['task'], row['condition'], row['method']), []).append(row['cost'])
    cells = [{'task': task, 'condition': condition, 'method': method,
              'cost_mean': float(np.mean(costs)), 'cost_std': float(np.std(costs)),
              'n': len(costs)} for (task, condition, method), costs in table.items()]
    best = {}
    for cell in cells:
        key = (cell['task'], cell['condition'])
        if key not in best or cell['cost_mean'] < best[key]['cost_mean']:
            best[key] = cell
    wins = {method: sum(cell['method'] == method for cell in best.values())
            for method in METHODS}
    return {'cells': cells, 'wins': wins}


def plot(summary, plan, path):
    """Bar chart: mean cost per condition (averaged over tasks) for each method."""
    from meta_mpc_ros.pipeline.plots import figure_axes, save_figure
    conditions = list(plan['conditions'])
    figure, axis = figure_axes(figsize=(12, 4.5))
    width = 0.8 / len(METHODS)
    for offset, method in enumerate(METHODS):
        means, spreads = [], []
        for condition in conditions:
            cells = [c for c in summary['cells']
                     if c['condition'] == condition and c['method'] == method]
            means.append(np.mean([c['cost_mean'] for c in cells]))
            spreads.append(np.mean([c['cost_std'] for c in cells]))
        x = np.arange(len(conditions)) + offset * width
        axis.bar(x, means, width, yerr=spreads, label=method, capsize=2)
    axis.set_xticks(np.arange(len(conditions)) + 0.4 - width / 2)
    axis.set_xticklabels(conditions, rotation=15)
    axis.set_ylabel('episode task cost (lower is better), mean over tasks')
    axis.axhline(0.0, color='k', lw=0.5)
    axis.legend()
    axis.set_title('Millirobot trajectory following under held-out conditions')
    save_figure(figure, path, dpi=100)
