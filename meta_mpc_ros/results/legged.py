"""
Section 3 of the results: the legged benchmarks on held-out tasks (the paper's Fig. 4).

For each family (half-cheetah with a disabled joint, on hills, on a pier; the ant with
a crippled leg), with the settings of config/<family>.yaml and the budget:

1. GrBAL with the paper's Algorithm 1 (`pipeline.iterate`): round 0 acts randomly, each
   later round collects with the previous round's GrBAL controller (plus exploration
   noise) on training tasks drawn from the family's distribution, then meta-trains on
   everything gathered so far, warm-started from the previous round. Random episodes
   are nearly free in simulation (no planning), so the budget adds extra random
   episodes to round 0 (`random_episodes`, counted in the data volume);
2. MB and ReBAL trained on the very same aggregated data (`pipeline.train`);
3. an MB oracle per held-out test task: the same Algorithm 1 (same rounds, episodes,
   episode length and iterations, so the same data volume) with MB, every episode on
   that test task;
4. closed-loop MPPI episodes on every test task for MB, MB+DE, GrBAL, ReBAL and the
   oracle, all with the same evaluation seeds (same initial states), and a random
   policy with those seeds.

The normalised return is the paper's: R / R_oracle, so the oracle scores 1 and a return
of zero (standing still, no control effort) scores 0. Beside it we report
(R - R_random) / (R_oracle - R_random), where the random policy scores 0; the ratio is
undefined (None) where the oracle's return is not positive. Models and data are cached
under runs/results/legged/<family>/<budget>_seed<seed>/ and reused when the settings
match.
"""

from dataclasses import asdict
import json
import pathlib

from meta_mpc_ros.pipeline.agents import RandomPolicy
from meta_mpc_ros.pipeline.episodes import EpisodeRequest, run_episode
from meta_mpc_ros.pipeline.evaluate import evaluate, EvaluateRequest
from meta_mpc_ros.pipeline.train import robot_specs
from meta_mpc_ros.results.common import (check_budget, DOCS, figure_path, RUNS, Stopwatch,
                                         write_json)
from meta_mpc_ros.results.legged_training import (BUDGET_SETTINGS, FAMILIES,
                                                  family_config, held_out_tasks,
                                                  pool_map, reductions, train_family)
from meta_mpc_ros.sim.registry import make_env
import numpy as np

METHODS = ('MB', 'MB+DE', 'GrBAL', 'ReBAL')
# method -> (checkpoint key, adapter)
METHOD_MODELS = {'MB': ('mb', 'mb'), 'MB+DE': ('mb', 'de'), 'GrBAL': ('grbal', 'grbal'),
                 'ReBAL': ('rebal', 'rebal')}
PAPER = {
    'claim': 'the adaptive methods (GrBAL and ReBAL) reach higher returns on the held-out '
             'tasks than MB and MB+DE, and on some tasks even exceed the MB oracle trained on '
             'the test task (returns normalised so that the MB oracle scores 1).',
    'official_data_per_family': '50 iterations x 5 rollouts x 1000 steps (250,000 '
                                'transitions) of Algorithm 1',
    'official_model': '3 x 512 ReLU MLP, second-order MAML, M = K = 16',
}


def evaluate_job(job):
    """Pool entry point: one method on one task; return its report without episodes."""
    config, checkpoint, adapter, task, episodes, seed = job
    report, _ = evaluate(EvaluateRequest(robot_config=config, checkpoint_path=checkpoint,
                                         adapter=adapter, condition=task, episodes=episodes,
                                         seed=seed, threads=1))
    return report


def random_returns(config, task, episodes, seed):
    """Return the returns of the random exploration policy with evaluate()'s seeds."""
    env = make_env(config.robot, condition=task, max_episode_steps=None)
    returns = []
    try:
        for episode_seed in np.random.SeedSequence(seed).generate_state(episodes):
            policy = RandomPolicy(env.action_spec, np.random.default_rng(int(episode_seed)),
                                  config.collection.random_hold_steps)
            run = run_episode(EpisodeRequest(env=env, policy=policy, seed=int(episode_seed),
                                             steps=config.evaluation.episode_steps,
                                             until_done=False))
            returns.append(-float(np.sum(run.costs)))
    finally:
        env.close()
    return returns


def normalise(returns, oracle_mean, reference_mean):
    """
    Return the normalised scores of one method's per-seed returns.

    :param returns: list of returns.
    :param oracle_mean: the oracle's mean return (scores 1).
    :param reference_mean: the random policy's mean return (0 of the second score).
    :return: dict normalised (mean R / R_oracle), normalised_std (over seeds),
        normalised_vs_random ((R - R_random) / (R_oracle - R_random)); None where the
        denominator is not positive.
    """
    returns = np.asarray(returns, dtype=np.float64)
    ratio = returns / oracle_mean if oracle_mean > 0 else None
    gap = oracle_mean - reference_mean
    return {'normalised': None if ratio is None else float(ratio.mean()),
            'normalised_std': None if ratio is None else float(ratio.std()),
            'normalised_vs_random': float((returns.mean() - reference_mean) / gap)
            if gap > 0 else None}


def evaluate_family(family, manifest, budget_name, seed):
    """
    Evaluate MB, MB+DE, GrBAL, ReBAL and the oracle on every test task of a family.

    :return: (results: task -> method -> scores, random: task -> mean random return).
    """
    budget = BUDGET_SETTINGS[budget_name]
    config = family_config(family, budget, seed)
    checkpoints = manifest['checkpoints']
    jobs, keys = [], []
    for task in held_out_tasks(family, budget):
        for method in METHODS + ('Oracle',):
            if method == 'Oracle':
                checkpoint, adapter = checkpoints['oracle'][task], 'mb'
            else:
                key, adapter = METHOD_MODELS[method]
                checkpoint = checkpoints[key]
            jobs.append((config, checkpoint, adapter, task, budget.eval_episodes, seed))
            keys.append((task, method))
    reports = pool_map(evaluate_job, jobs, budget.workers)
    results, random = {}, {}
    for (task, method), report in zip(keys, reports):
        returns = [-detail['cost'] for detail in report['details']]
        results.setdefault(task, {})[method] = {
            'returns': returns, 'return_mean': float(np.mean(returns)),
            'return_std': float(np.std(returns)), 'steps': report['details'][0]['steps'],
            'prediction_error_before': report['prediction_error_before'],
            'prediction_error_after': report['prediction_error_after'],
            'step_ms_median': report['step_ms_median'], 'checkpoint': report['checkpoint']}
    for task, rows in results.items():
        random[task] = float(np.mean(random_returns(config, task, budget.eval_episodes, seed)))
        for row in rows.values():
            row.update(normalise(row['returns'], rows['Oracle']['return_mean'], random[task]))
    return results, random


def summarise_family(results, random):
    """
    Return method -> mean over test tasks of the normalised scores (None if any is).

    'Random' holds the random policy's R_random / R_oracle.
    """
    oracle = [results[task]['Oracle']['return_mean'] for task in results]
    ratios = [random[task] / value for task, value in zip(results, oracle) if value > 0]
    summary = {'Random': {'normalised': float(np.mean(ratios))
                          if len(ratios) == len(oracle) else None}}
    for method in METHODS + ('Oracle',):
        rows = [by_method[method] for by_method in results.values()]
        summary[method] = {}
        for key in ('normalised', 'normalised_std', 'normalised_vs_random', 'return_mean'):
            values = [row[key] for row in rows]
            summary[method][key] = None if any(v is None for v in values) \
                else float(np.mean(values))
    return summary


def plot(families, path):
    """
    One panel per family: average return per method, with the oracle and random lines.

    Raw returns, not R / R_oracle: the ratio is undefined where the oracle's return is
    not positive (the pier), and misleading where the oracle is weak; the table gives it.
    Bars are the mean over test tasks of the per-task mean; error bars the mean of the
    per-task std over seeds.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(families)
    figure, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 4), squeeze=False)
    for axis, name in zip(axes[0], names):
        results = families[name]['results']
        methods = METHODS + ('Oracle',)
        means = [np.mean([by_method[m]['return_mean'] for by_method in results.values()])
                 for m in methods]
        spreads = [np.mean([by_method[m]['return_std'] for by_method in results.values()])
                   for m in methods]
        colours = [f'C{index}' for index in range(len(METHODS))] + ['grey']
        axis.bar(np.arange(len(methods)), means, yerr=spreads, capsize=3, color=colours)
        axis.axhline(np.mean(list(families[name]['random_return'].values())), color='k',
                     ls=':', lw=1, label='random policy')
        axis.axhline(0.0, color='grey', lw=0.5)
        axis.set_xticks(np.arange(len(methods)))
        axis.set_xticklabels(methods, rotation=45, fontsize=8)
        axis.set_title(name.replace('_', ' '), fontsize=9)
        axis.legend(fontsize=7)
    axes[0][0].set_ylabel('average return on held-out tasks')
    figure.suptitle('Legged held-out tasks: return (mean, std over seeds); '
                    'Oracle = MB trained on the test task', fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def run(budget, seed, out=DOCS, runs=RUNS, families=FAMILIES):
    """
    Train (or load), evaluate and report section 3; write legged.json and legged.png.

    :param budget: 'smoke' or 'full'.
    :param seed: seeds data collection, training, planning and evaluation.
    :param out: the docs directory (results/ and figures/ go under it).
    :param runs: the cache directory (models and data under legged/).
    :param families: the families to run (default: all four).
    :return: the JSON dict.
    """
    check_budget(budget)
    report = {'experiment': 'legged', 'budget': budget, 'seed': seed,
              'budget_settings': asdict(BUDGET_SETTINGS[budget]),
              'reductions': reductions(budget), 'paper': PAPER,
              'normalisation': 'normalised = R / R_oracle (paper, Fig. 4: oracle = 1, zero '
                               'return = 0; None when R_oracle <= 0); normalised_vs_random = '
                               '(R - R_random) / (R_oracle - R_random)',
              'families': {}}
    with Stopwatch() as total:
        for family in families:
            with Stopwatch() as watch:
                manifest = train_family(family, budget, seed, runs)
                with Stopwatch() as evaluation:
                    results, random = evaluate_family(family, manifest, budget, seed)
            config = family_config(family, BUDGET_SETTINGS[budget], seed)
            report['families'][family] = {
                'config': f'config/{family}.yaml', 'test_tasks': list(results),
                'settings': manifest['settings']['config'],
                'data': manifest['data'], 'oracle_data': manifest['oracles'],
                'control_dt': robot_specs(family)[2],
                'evaluation': {'episodes': BUDGET_SETTINGS[budget].eval_episodes,
                               'steps': config.evaluation.episode_steps, 'seed': seed},
                'results': results, 'random_return': random,
                'normalised': summarise_family(results, random),
                'wall_seconds': watch.seconds, 'train_seconds': manifest['train_seconds'],
                'evaluate_seconds': evaluation.seconds,
                'cached': manifest['cached'], 'cache': manifest['directory']}
    families_report = report['families'].values()
    report['transitions'] = sum(f['data']['transitions'] + sum(
        o['transitions'] for o in f['oracle_data'].values()) for f in families_report)
    report['sim_hours'] = sum(f['data']['sim_hours'] + sum(
        o['sim_hours'] for o in f['oracle_data'].values()) for f in families_report)
    report['wall_seconds'] = total.seconds
    figure = figure_path('legged', out)
    plot({name: report['families'][name] for name in families}, figure)
    report['figure'] = str(figure)
    write_json('legged', report, out)
    return report


def replot(out=DOCS):
    """Redraw legged.png from the legged.json already under `out`."""
    report = json.loads((pathlib.Path(out) / 'results' / 'legged.json').read_text())
    plot(report['families'], figure_path('legged', out))
