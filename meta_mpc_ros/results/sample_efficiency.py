"""
Section 4 of the results: return on a held-out task against environment steps.

On the half-cheetah with a disabled joint (held-out joint 0), as the paper measured it
(Sec. 6.2, Fig. 3): Algorithm 1 in small rounds from the start, so that the
model-based learning curve has a point per round:

- GrBAL: section 3's Algorithm-1 run (its cached per-round checkpoints
  `grbal_round<i>.pt`: a few random episodes, then a few 1000-step controller episodes
  per round), each round's model evaluated closed loop with adaptation;
- MB: its own Algorithm 1 with the same rounds (collecting with the MB controller),
  each round evaluated without adaptation;
- PPO (stable-baselines3) and TRPO (sb3-contrib), trained on the training-task
  distribution (a new task at every reset) and measured on the test task at
  log-spaced step counts (`model_free`).

The comparison is "environment steps to reach return R" for several R: the best
model-based return (the best mean return any round of GrBAL or MB reached) and
fractions of it. For each method we take the first measured step count whose mean
return reaches R (an upper bound, limited by where we measured); the ratio of a
model-free method's steps to the fewest model-based steps is set beside the paper's
claim of about 1000x. When a model-free method does not get there within its budget,
the ratio is a lower bound (its budget / the model-based steps).
"""

from dataclasses import asdict, dataclass
import json
import pathlib

from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.roles import BASELINE_ADAPTER, DEFAULT_ADAPTER
from meta_mpc_ros.pipeline.iterate import iterate, IterateRequest
from meta_mpc_ros.pipeline.plots import figure_axes, save_figure
from meta_mpc_ros.results import legged
from meta_mpc_ros.results.common import (check_budget, DOCS, figure_path, mean_ci, RUNS,
                                         Stopwatch, write_json)
from meta_mpc_ros.results.grid import Executor
from meta_mpc_ros.results.legged_training import (BUDGET_SETTINGS as MODEL_BASED,
                                                  family_config, held_out_tasks,
                                                  run_unit, train_families)
from meta_mpc_ros.results.model_free import ALGORITHMS, train_model_free_job
from meta_mpc_ros.sim.registry import robot_specs
import numpy as np

FAMILY = 'half_cheetah_disabled_joint'
# R = these fractions of the best model-based return.
FRACTIONS = (0.25, 0.5, 0.75, 1.0)
# label -> adapter of the model-based curves: GrBAL (section 3's rounds) and MB's own.
CURVE_ADAPTERS = {ADAPTERS[name].label: name for name in (DEFAULT_ADAPTER, BASELINE_ADAPTER)}
MODEL_BASED_METHODS = tuple(CURVE_ADAPTERS)
PAPER = {
    'claim': 'GrBAL meta-trains with 1.5-3 hours of simulated experience, about 1000x '
             'less data than the model-free methods (TRPO, PPO, MAML-RL) need to reach '
             'comparable returns (Sec. 6.2, Fig. 3).',
    'ratio': 1000.0,
}


@dataclass(frozen=True)
class Budget:
    """
    The model-free part of a budget (the model-based part is legged_training's).

    :param steps: environment steps of PPO and of TRPO.
    :param measurements: log-spaced test-task measurements (plus one at 0 steps).
    :param envs: parallel training environments.
    :param kwargs: settings of both algorithms (the libraries' defaults otherwise).
    :param curve_episodes: evaluation episodes per point of the learning curves.
    """

    steps: int
    measurements: int
    envs: int = 4
    kwargs: tuple = ()
    curve_episodes: int = 5


BUDGET_SETTINGS = {
    # 4 envs x 1024 steps per update, minibatches of 256 (SB3's 64 trains 4x slower on
    # this CPU); the rest are the libraries' defaults.
    'full': Budget(steps=500_000, measurements=10,
                   kwargs=(('n_steps', 1024), ('batch_size', 256)), curve_episodes=5),
    # The paper's model-free curves run to millions of steps.
    'paper': Budget(steps=5_000_000, measurements=14, envs=8,
                    kwargs=(('n_steps', 1024), ('batch_size', 256)), curve_episodes=5),
    'smoke': Budget(steps=256, measurements=2, envs=2,
                    kwargs=(('n_steps', 64), ('batch_size', 64)), curve_episodes=2),
}


def mb_iterate(config, directory, budget, seed, executor):
    """
    Run (or load) Algorithm 1 with MB on the training tasks, GrBAL's rounds.

    :return: (list of dicts round, transitions, checkpoint; training seconds; whether it
        came from the cache).
    """
    directory = pathlib.Path(directory)
    manifest_path = directory / 'mb_iterate.json'
    settings = json.loads(json.dumps({'config': asdict(config), 'budget': asdict(budget),
                                      'seed': seed}))
    settings['config'].pop('source')
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest['settings'] == settings and all(
                pathlib.Path(r['checkpoint']).is_file() for r in manifest['rounds']):
            return manifest['rounds'], manifest['seconds'], True
    with Stopwatch() as watch:
        summary = iterate(IterateRequest(
            robot_config=config, method=ADAPTERS[BASELINE_ADAPTER].training_method,
            out=directory / 'mb_iterate.pt',
            rounds=budget.rounds, episodes=budget.episodes, seed=seed,
            random_episodes=budget.random_episodes, mapper=executor.map_jobs,
            progress=False))
    history = [dict(r, checkpoint=str(directory / f'mb_iterate_round{r["round"]}.pt'))
               for r in summary['rounds']]
    manifest_path.write_text(json.dumps({'settings': settings, 'rounds': history,
                                         'seconds': watch.seconds}, indent=1))
    return history, watch.seconds, False


def mb_iterate_job(job):
    """Grid entry point: mb_iterate's arguments as one tuple."""
    return mb_iterate(*job)


def round_curves(config, rounds_by_method, task, episodes, seed, executor, control_dt):
    """
    Evaluate every round's checkpoint of each method on the task (one job per episode).

    :param rounds_by_method: method -> list of dicts round, transitions, checkpoint.
    :return: method -> curve points (steps, returns, return_mean, return_ci, ...).
    """
    seeds = legged.episode_seeds(seed, episodes)
    keys, jobs = [], []
    for method, rounds in rounds_by_method.items():
        for index, r in enumerate(rounds):
            for episode_seed in seeds:
                keys.append((method, index))
                jobs.append((config, r['checkpoint'], CURVE_ADAPTERS[method], task, episode_seed,
                             config.evaluation.episode_steps))
    results = executor.map_jobs(legged.evaluate_episode, jobs)
    grouped = {}
    for key, result in zip(keys, results):
        grouped.setdefault(key, []).append(result)
    curves = {}
    for method, rounds in rounds_by_method.items():
        curves[method] = []
        for index, r in enumerate(rounds):
            episodes_run = grouped[(method, index)]
            returns = [e['return'] for e in episodes_run]
            mean, ci = mean_ci(returns)
            curves[method].append({
                'round': r['round'], 'steps': r['transitions'],
                'sim_hours': r['transitions'] * control_dt / 3600.0, 'returns': returns,
                'return_mean': mean, 'return_ci': ci, 'return_std': float(np.std(returns)),
                'checkpoint': r['checkpoint'],
                'seconds': float(sum(e['seconds'] for e in episodes_run))})
    return curves


def steps_to_reach(curve, target):
    """Return the first measured step count whose mean return is >= target, or None."""
    for point in curve:
        if point['return_mean'] >= target:
            return point['steps']
    return None


def thresholds(curves, budgets):
    """
    Return, per target R (fractions of the best model-based return), steps per method.

    :param curves: method -> curve (GrBAL and MB, and the model-free methods).
    :param budgets: model-free method -> its training steps (for lower bounds).
    :return: list of dicts fraction, target, steps (method -> int or None), model_based
        (fewest model-based steps), ratios (model-free method -> steps / model_based),
        lower_bound (method -> bool: not reached, ratio is budget / model_based).
    """
    best = max(point['return_mean'] for name in MODEL_BASED_METHODS for point in curves[name])
    rows = []
    for fraction in FRACTIONS:
        if best <= 0:
            rows.append({'fraction': fraction, 'target': None, 'steps': {},
                         'model_based': None, 'ratios': {}, 'lower_bound': {},
                         'note': 'the best model-based return is not positive'})
            continue
        target = fraction * best
        steps = {name: steps_to_reach(curve, target) for name, curve in curves.items()}
        reached = [steps[name] for name in MODEL_BASED_METHODS if steps[name] is not None]
        model_based = min(reached)
        ratios, lower = {}, {}
        for name in budgets:
            lower[name] = steps[name] is None
            ratios[name] = (budgets[name] if lower[name] else steps[name]) / model_based
        rows.append({'fraction': fraction, 'target': target, 'steps': steps,
                     'model_based': model_based, 'ratios': ratios, 'lower_bound': lower})
    return rows


def plot(curves, rows, path):
    """Return against environment steps (log scale), 95 % intervals, the targets R."""
    figure, axis = figure_axes(figsize=(7.5, 4.5))
    for name, curve in curves.items():
        steps = [max(point['steps'], 1) for point in curve]
        means = np.array([point['return_mean'] for point in curve])
        spread = np.array([point.get('return_ci') or 0.0 for point in curve])
        line, = axis.plot(steps, means, 'o-', ms=3, label=name)
        axis.fill_between(steps, means - spread, means + spread, color=line.get_color(),
                          alpha=0.2)
    targets = [row for row in rows if row['target'] is not None]
    for row in targets:
        axis.axhline(row['target'], color='grey', ls=':', lw=1)
    if targets:
        axis.annotate('R = ' + ', '.join(f'{row["fraction"]:.0%}' for row in targets)
                      + ' of the best model-based return', (1, targets[-1]['target']),
                      xycoords=('axes fraction', 'data'), ha='right', va='bottom', fontsize=7,
                      color='grey')
    axis.set_xscale('log')
    axis.set_xlabel('environment steps (log scale)')
    axis.set_ylabel('return on the held-out task (1000 steps)')
    axis.set_title(f'{FAMILY}: return vs data (mean over seeds, 95 % CI)')
    axis.legend(fontsize=8)
    save_figure(figure, path, dpi=120)


def run(budget, seed, out=DOCS, runs=RUNS, executor=None):
    """
    Measure section 4; write sample_efficiency.json and sample_efficiency.png.

    :param budget: 'smoke' or 'full' (the model-based part is section 3's budget).
    :param seed: seeds everything (section 3's cached GrBAL run is reused if it matches).
    :param out: the docs directory.
    :param runs: the cache directory.
    :param executor: a results.grid.Executor (default: Ray, local on all cores).
    :return: the JSON dict.
    """
    check_budget(budget)
    executor = executor or Executor('ray')
    model_based, model_free = MODEL_BASED[budget], BUDGET_SETTINGS[budget]
    config = family_config(FAMILY, model_based, seed)
    task = held_out_tasks(FAMILY, model_based)[0]
    control_dt = robot_specs(FAMILY)[2]
    steps = config.evaluation.episode_steps
    measure_at = [0] + sorted({int(s) for s in np.geomspace(
        min(1000, model_free.steps), model_free.steps, model_free.measurements)})
    with Stopwatch() as total:
        manifest = train_families((FAMILY,), budget, seed, executor, runs)[FAMILY]
        grbal_rounds = [dict(r, checkpoint=str(pathlib.Path(manifest['directory'])
                                               / f'grbal_round{r["round"]}.pt'))
                        for r in manifest['data']['rounds']]
        # MB's Algorithm 1 and the model-free methods share the cores.
        units = [(mb_iterate_job, (config, manifest['directory'], model_based, seed,
                                   executor))]
        units += [(train_model_free_job, (FAMILY, task, model_free.steps, measure_at,
                                          model_free.curve_episodes, steps, seed,
                                          config.collection.episode_steps, model_free.envs,
                                          dict(model_free.kwargs), name))
                  for name in ALGORITHMS]
        with Stopwatch() as training:
            (mb_rounds, mb_seconds, mb_cached), *free = executor.map_jobs(run_unit, units)
        with Stopwatch() as evaluation:
            curves = round_curves(config, {'GrBAL': grbal_rounds, 'MB': mb_rounds}, task,
                                  model_free.curve_episodes, seed, executor, control_dt)
        for name, curve in zip(ALGORITHMS, free):
            for point in curve:
                point['sim_hours'] = point['steps'] * control_dt / 3600.0
                point['return_mean'], point['return_ci'] = mean_ci(point['returns'])
            curves[name] = curve
    budgets = {name: curves[name][-1]['steps'] for name in ALGORITHMS}
    rows = thresholds(curves, budgets)
    volumes = {'GrBAL': manifest['data']['transitions'], 'MB': mb_rounds[-1]['transitions'],
               **budgets}
    report = {
        'experiment': 'sample_efficiency', 'budget': budget, 'seed': seed, 'family': FAMILY,
        'test_task': task, 'paper': PAPER, 'executor': executor.describe(),
        'budget_settings': {'model_based': asdict(model_based),
                            'model_free': asdict(model_free)},
        'evaluation': {'episodes': model_free.curve_episodes, 'steps': steps, 'seed': seed},
        'curves': curves, 'thresholds': rows,
        'data': {name: {'transitions': volume, 'sim_hours': volume * control_dt / 3600.0}
                 for name, volume in volumes.items()},
        'transitions': sum(volumes.values()),
        'sim_hours': sum(volumes.values()) * control_dt / 3600.0,
        'wall_seconds': total.seconds,
        'timings': {'grbal_train': manifest['train_seconds'],
                    'grbal_cached': manifest['cached'], 'mb_train': mb_seconds,
                    'mb_cached': mb_cached, 'train_wall': training.seconds,
                    'evaluate': evaluation.seconds},
        'method_notes': {
            'GrBAL': 'section 3 Algorithm-1 rounds (cached), adapter grbal',
            'MB': 'own Algorithm 1 with the MB controller, the same rounds, adapter mb',
            'PPO': 'stable-baselines3 PPO on the training tasks, deterministic policy on '
                   'the test task; steps_to_reach is limited by where it was measured',
            'TRPO': 'sb3-contrib TRPO, trained and measured as PPO'}}
    figure = figure_path('sample_efficiency', out)
    plot(curves, rows, figure)
    report['figure'] = str(figure)
    write_json('sample_efficiency', report, out)
    return report


def replot(out=DOCS):
    """Redraw sample_efficiency.png from the JSON already under `out`."""
    report = json.loads((pathlib.Path(out) / 'results' / 'sample_efficiency.json').read_text())
    plot(report['curves'], report['thresholds'], figure_path('sample_efficiency', out))
