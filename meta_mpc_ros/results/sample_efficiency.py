"""
Section 4 of the results: return on a held-out task against environment steps.

On the half-cheetah with a disabled joint (held-out joint 0), the family whose
training tasks are a small finite set, so that every method sees the same task
distribution:

- GrBAL: section 3's Algorithm-1 run (the cached per-round checkpoints
  `grbal_round<i>.pt`), each round's model evaluated closed loop with adaptation;
- MB: its own Algorithm 1 (same rounds, episodes and iterations), collecting with the
  MB controller, each round evaluated without adaptation;
- PPO (stable-baselines3, `model_free`), trained on the training-task distribution (a
  new task at every reset) and measured on the test task at log-spaced step counts.

The x axis is the environment steps the method has consumed (Algorithm 1: the
aggregated transitions after the round). For each method we take the first measured
step count whose mean return reaches X% of GrBAL's final return (an upper bound,
limited by where we measured) and the ratio PPO / GrBAL, beside the paper's claim of
about 1000x less data than model-free methods. When PPO does not get there within its
budget the ratio is a lower bound (PPO's budget / GrBAL's steps).
"""

from dataclasses import asdict, dataclass
import json
import pathlib

from meta_mpc_ros.pipeline.iterate import iterate, IterateRequest
from meta_mpc_ros.pipeline.train import robot_specs
from meta_mpc_ros.results import legged
from meta_mpc_ros.results.common import (check_budget, DOCS, figure_path, RUNS, Stopwatch,
                                         write_json)
from meta_mpc_ros.results.model_free import train_ppo
import numpy as np
import torch

FAMILY = 'half_cheetah_disabled_joint'
FRACTIONS = (0.5, 0.8)
PAPER = {
    'claim': 'GrBAL meta-trains with 1.5-3 hours of simulated experience, about 1000x '
             'less data than the model-free methods (TRPO, PPO, MAML-RL) need to reach '
             'comparable returns (Sec. 6.2, Fig. 3).',
    'ratio': 1000.0,
}


@dataclass(frozen=True)
class Budget:
    """
    The model-free part of a budget (the model-based part is legged.BUDGET_SETTINGS).

    :param ppo_steps: PPO's environment steps.
    :param ppo_measurements: log-spaced test-task measurements (plus one at 0 steps).
    :param ppo_envs: parallel training environments.
    :param ppo_kwargs: PPO settings (stable-baselines3 defaults otherwise).
    """

    ppo_steps: int
    ppo_measurements: int
    ppo_envs: int = 4
    ppo_kwargs: tuple = ()


BUDGET_SETTINGS = {
    # 4 envs x 1024 steps per update, minibatches of 256 (SB3's 64 trains 4x slower on
    # this CPU); other settings are stable-baselines3's PPO defaults. ~3,500 steps/s on
    # one core: 500,000 steps take ~2.5 min.
    'full': Budget(ppo_steps=500_000, ppo_measurements=10,
                   ppo_kwargs=(('n_steps', 1024), ('batch_size', 256))),
    'smoke': Budget(ppo_steps=256, ppo_measurements=2, ppo_envs=2,
                    ppo_kwargs=(('n_steps', 64), ('batch_size', 64), ('n_epochs', 2))),
}


def mb_iterate(config, directory, rounds, seed, workers, initial_data=()):
    """
    Run (or load) Algorithm 1 with MB on the training tasks; return its round summaries.

    :param initial_data: dataset files added to round 0 (GrBAL's extra random episodes).
    :return: (list of dicts round, transitions, sim_hours, checkpoint; training seconds;
        whether it came from the cache).
    """
    directory = pathlib.Path(directory)
    manifest_path = directory / 'mb_iterate.json'
    settings = json.loads(json.dumps({'config': asdict(config), 'rounds': rounds,
                                      'seed': seed}))
    settings['config'].pop('source')
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest['settings'] == settings and all(
                pathlib.Path(r['checkpoint']).is_file() for r in manifest['rounds']):
            return manifest['rounds'], manifest['seconds'], True
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with Stopwatch() as watch:
        summary = iterate(IterateRequest(robot_config=config, method='mb',
                                         out=directory / 'mb_iterate.pt', rounds=rounds,
                                         episodes=config.collection.episodes_per_iteration,
                                         seed=seed, initial_data=initial_data, workers=workers))
    torch.set_num_threads(threads)
    history = [dict(r, checkpoint=str(directory / f'mb_iterate_round{r["round"]}.pt'))
               for r in summary['rounds']]
    manifest_path.write_text(json.dumps({'settings': settings, 'rounds': history,
                                         'seconds': watch.seconds}, indent=1))
    return history, watch.seconds, False


def round_curve(config, rounds, adapter, task, episodes, seed, workers, control_dt):
    """Evaluate each round's checkpoint on the task; return the curve points."""
    jobs = [(config, r['checkpoint'], adapter, task, episodes, seed) for r in rounds]
    reports = legged.pool_map(legged.evaluate_job, jobs, workers)
    curve = []
    for r, report in zip(rounds, reports):
        returns = [-detail['cost'] for detail in report['details']]
        curve.append({'round': r['round'], 'steps': r['transitions'],
                      'sim_hours': r['transitions'] * control_dt / 3600.0,
                      'returns': returns, 'return_mean': float(np.mean(returns)),
                      'return_std': float(np.std(returns)), 'checkpoint': r['checkpoint']})
    return curve


def steps_to_reach(curve, target):
    """Return the first measured step count whose mean return is >= target, or None."""
    for point in curve:
        if point['return_mean'] >= target:
            return point['steps']
    return None


def thresholds(curves, ppo_budget):
    """
    Return, per fraction X, the target return and steps to reach it per method.

    :return: list of dicts fraction, target, steps (method -> int or None),
        ratio_ppo_to_grbal, ratio_is_lower_bound.
    """
    final = curves['GrBAL'][-1]['return_mean']
    rows = []
    for fraction in FRACTIONS:
        if final <= 0:
            rows.append({'fraction': fraction, 'target': None, 'steps': {},
                         'ratio_ppo_to_grbal': None, 'ratio_is_lower_bound': False,
                         'note': 'final GrBAL return is not positive'})
            continue
        target = fraction * final
        steps = {name: steps_to_reach(curve, target) for name, curve in curves.items()}
        grbal, ppo = steps['GrBAL'], steps['PPO']
        ratio = ppo / grbal if ppo is not None else ppo_budget / grbal
        rows.append({'fraction': fraction, 'target': target, 'steps': steps,
                     'ratio_ppo_to_grbal': ratio, 'ratio_is_lower_bound': ppo is None})
    return rows


def plot(curves, rows, path):
    """Return against environment steps (log scale), with the X% targets."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(7.5, 4.5))
    for name, curve in curves.items():
        steps = [max(point['steps'], 1) for point in curve]
        means = np.array([point['return_mean'] for point in curve])
        spread = np.array([point['return_std'] for point in curve])
        line, = axis.plot(steps, means, 'o-', label=name)
        axis.fill_between(steps, means - spread, means + spread, color=line.get_color(),
                          alpha=0.2)
    for row in rows:
        if row['target'] is not None:
            axis.axhline(row['target'], color='grey', ls=':', lw=1)
            axis.annotate(f'{row["fraction"]:.0%} of final GrBAL', (1, row['target']),
                          xycoords=('axes fraction', 'data'), ha='right', va='bottom',
                          fontsize=7, color='grey')
    axis.set_xscale('log')
    axis.set_xlabel('environment steps (log scale)')
    axis.set_ylabel('return on the held-out task')
    axis.set_title(f'{FAMILY}: return vs data (mean, std over seeds)')
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def run(budget, seed, out=DOCS, runs=RUNS):
    """
    Measure section 4; write sample_efficiency.json and sample_efficiency.png.

    :param budget: 'smoke' or 'full' (the model-based part is section 3's budget).
    :param seed: seeds everything (section 3's cached GrBAL run is reused if it matches).
    :param out: the docs directory.
    :param runs: the cache directory.
    :return: the JSON dict.
    """
    check_budget(budget)
    model_based, model_free = legged.BUDGET_SETTINGS[budget], BUDGET_SETTINGS[budget]
    config = legged.family_config(FAMILY, model_based, seed)
    task = legged.held_out_tasks(FAMILY, model_based)[0]
    control_dt = robot_specs(FAMILY)[2]
    episodes, steps = model_based.eval_episodes, config.evaluation.episode_steps
    with Stopwatch() as total:
        manifest = legged.train_family(FAMILY, budget, seed, runs)
        grbal_rounds = [dict(r, checkpoint=str(pathlib.Path(manifest['directory'])
                                               / f'grbal_round{r["round"]}.pt'))
                        for r in manifest['data']['rounds']]
        random_data = pathlib.Path(manifest['directory']) / 'random.npz'
        mb_rounds, mb_seconds, mb_cached = mb_iterate(
            config, manifest['directory'], model_based.rounds, seed, model_based.workers,
            [random_data] if model_based.random_episodes else [])
        with Stopwatch() as evaluation:
            curves = {'GrBAL': round_curve(config, grbal_rounds, 'grbal', task, episodes, seed,
                                           model_based.workers, control_dt),
                      'MB': round_curve(config, mb_rounds, 'mb', task, episodes, seed,
                                        model_based.workers, control_dt)}
        with Stopwatch() as ppo_watch:
            measure_at = [0] + sorted({int(s) for s in np.geomspace(
                min(1000, model_free.ppo_steps), model_free.ppo_steps,
                model_free.ppo_measurements)})
            curves['PPO'] = train_ppo(FAMILY, task, model_free.ppo_steps, measure_at,
                                      episodes, steps, seed, config.collection.episode_steps,
                                      model_free.ppo_envs, dict(model_free.ppo_kwargs))
        for point in curves['PPO']:
            point['sim_hours'] = point['steps'] * control_dt / 3600.0
    rows = thresholds(curves, curves['PPO'][-1]['steps'])
    grbal_data = manifest['data']['transitions']
    ppo_data = curves['PPO'][-1]['steps']
    mb_data = mb_rounds[-1]['transitions']
    report = {
        'experiment': 'sample_efficiency', 'budget': budget, 'seed': seed, 'family': FAMILY,
        'test_task': task, 'paper': PAPER,
        'budget_settings': {'model_based': asdict(model_based),
                            'model_free': asdict(model_free)},
        'evaluation': {'episodes': episodes, 'steps': steps, 'seed': seed},
        'curves': curves, 'thresholds': rows,
        'data': {'GrBAL': {'transitions': grbal_data,
                           'sim_hours': grbal_data * control_dt / 3600.0},
                 'MB': {'transitions': mb_data, 'sim_hours': mb_data * control_dt / 3600.0},
                 'PPO': {'transitions': ppo_data,
                         'sim_hours': ppo_data * control_dt / 3600.0}},
        'transitions': grbal_data + mb_data + ppo_data,
        'sim_hours': (grbal_data + mb_data + ppo_data) * control_dt / 3600.0,
        'wall_seconds': total.seconds,
        'timings': {'grbal_train': manifest['train_seconds'],
                    'grbal_cached': manifest['cached'], 'mb_train': mb_seconds,
                    'mb_cached': mb_cached, 'evaluate': evaluation.seconds,
                    'ppo': ppo_watch.seconds},
        'method_notes': {
            'GrBAL': 'section 3 Algorithm-1 rounds (cached), adapter grbal',
            'MB': 'own Algorithm 1 with the MB controller (same extra random episodes in '
                  'round 0 as GrBAL), adapter mb',
            'PPO': 'stable-baselines3 PPO on the training tasks, deterministic policy on '
                   'the test task; steps_to_reach is limited by where it was measured'}}
    figure = figure_path('sample_efficiency', out)
    plot(curves, rows, figure)
    report['figure'] = str(figure)
    write_json('sample_efficiency', report, out)
    return report
