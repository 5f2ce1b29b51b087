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

from dataclasses import asdict, dataclass, replace
import json
import multiprocessing
import pathlib

from meta_mpc_ros.core.dataset import TrajectoryDataset
from meta_mpc_ros.pipeline.agents import RandomPolicy
from meta_mpc_ros.pipeline.collect import collect, collect_episode, EpisodePlan, merge
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.pipeline.episodes import run_episode
from meta_mpc_ros.pipeline.evaluate import evaluate
from meta_mpc_ros.pipeline.iterate import iterate
from meta_mpc_ros.pipeline.train import robot_specs, train
from meta_mpc_ros.results.common import (check_budget, DOCS, figure_path, RUNS, Stopwatch,
                                         write_json)
from meta_mpc_ros.sim.registry import environment_class, make_env
import numpy as np
import torch

FAMILIES = ('half_cheetah_disabled_joint', 'half_cheetah_hills', 'half_cheetah_pier',
            'ant_crippled_leg')
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


@dataclass(frozen=True)
class Budget:
    """
    What one budget trains and measures per family; None keeps config/<family>.yaml's.

    :param rounds: Algorithm-1 rounds (round 0 acts randomly).
    :param random_episodes: extra random episodes in round 0.
    :param episodes: episodes per round.
    :param episode_steps: control steps per collected episode.
    :param iterations: (meta-)training iterations per round.
    :param aggregate_iterations: iterations of MB and ReBAL on the aggregated data.
    :param hidden_sizes: the MLP's hidden layers.
    :param num_samples: MPPI samples per control step.
    :param eval_episodes: evaluation episodes (seeds) per method and test task.
    :param eval_steps: control steps per evaluation episode.
    :param test_tasks: evaluate the first n test tasks of each family (0: all).
    :param workers: processes for collection and evaluation (1: in this process).
    """

    rounds: int
    random_episodes: int = 0
    episodes: int = None
    episode_steps: int = None
    iterations: int = None
    aggregate_iterations: int = None
    hidden_sizes: tuple = None
    num_samples: int = None
    eval_episodes: int = 3
    eval_steps: int = None
    test_tasks: int = 0
    workers: int = 2


BUDGET_SETTINGS = {
    # 4 rounds x 6 episodes x 500 steps + 60 random episodes = 42,000 transitions;
    # iterations and model from config/<family>.yaml (2000 per round, 3 x 200).
    'full': Budget(rounds=4, random_episodes=60, aggregate_iterations=8000, eval_episodes=3,
                   workers=2),
    'smoke': Budget(rounds=2, random_episodes=1, episodes=2, episode_steps=40, iterations=3,
                    aggregate_iterations=3, hidden_sizes=(32, 32), num_samples=32,
                    eval_episodes=1, eval_steps=25, test_tasks=1, workers=1),
}


def family_config(family, budget, seed):
    """
    Return the RobotConfig of a family under a budget (config/<family>.yaml + overrides).

    :param budget: a Budget.
    :param seed: seeds training and the planner's noise.
    """
    config = load_robot_config(family)
    model = config.model if budget.hidden_sizes is None else \
        replace(config.model, hidden_sizes=tuple(budget.hidden_sizes))
    training = replace(config.training, seed=seed,
                       **_given(iterations=budget.iterations))
    collection = replace(config.collection, **_given(
        episodes_per_iteration=budget.episodes, episode_steps=budget.episode_steps))
    controller = replace(config.controller, seed=seed,
                         **_given(num_samples=budget.num_samples))
    evaluation = replace(config.evaluation, **_given(episode_steps=budget.eval_steps))
    return replace(config, model=model, training=training, collection=collection,
                   controller=controller, evaluation=evaluation)


def _given(**values):
    """Return the keyword arguments that are not None."""
    return {key: value for key, value in values.items() if value is not None}


def held_out_tasks(family, budget):
    """Return the held-out test conditions a budget evaluates."""
    tasks = tuple(environment_class(family).TEST_CONDITIONS)
    return tasks[:budget.test_tasks] if budget.test_tasks else tasks


def settings_record(config, budget):
    """Return the JSON-ready settings that identify a cached run."""
    record = {'budget': asdict(budget), 'config': asdict(config)}
    record['config'].pop('source')
    return json.loads(json.dumps(record))


def pool_map(function, jobs, workers):
    """Map a module-level function over picklable jobs, in `workers` spawned processes."""
    if workers <= 1 or len(jobs) <= 1:
        return [function(job) for job in jobs]
    context = multiprocessing.get_context('spawn')
    with context.Pool(min(workers, len(jobs))) as pool:
        return pool.map(function, jobs, chunksize=1)


def _collect_job(job):
    """Pool entry point: collect one planned episode (collect_episode's arguments)."""
    return collect_episode(*job)


def iterate_on_task(config, condition, out, rounds, random_episodes, seed, workers):
    """
    Run Algorithm 1 with MB on one task only (the oracle); write the last model to `out`.

    Same rounds, episodes, episode length and iterations as `pipeline.iterate`, and
    `random_episodes` more random ones in round 0; every episode runs under `condition`
    instead of a sampled training task.

    :return: dict with 'rounds' (per-round transitions, sim-hours, validation loss),
        'transitions' and 'sim_hours' of the aggregated data.
    """
    out = pathlib.Path(out)
    control_dt = robot_specs(config.robot)[2]
    datasets, checkpoint, history = [], None, []
    for round_index in range(rounds):
        rng = np.random.default_rng([seed, round_index])
        count = config.collection.episodes_per_iteration + (random_episodes if round_index == 0
                                                            else 0)
        plans = [EpisodePlan(int(rng.integers(2 ** 31)), '', condition) for _ in range(count)]
        jobs = [(config, plan, None if checkpoint is None else str(checkpoint), 'mb')
                for plan in plans]
        trajectories = [t for result in pool_map(_collect_job, jobs, workers if checkpoint
                                                 else 1) for t in result]
        datasets.append(TrajectoryDataset(trajectories, {
            'robot': config.robot, 'seed': seed, 'episodes': len(plans), 'task': condition,
            'policy': 'random' if checkpoint is None else f'mb:{checkpoint}',
            'control_dt': control_dt}))
        merged = merge(datasets)
        round_out = out.with_name(f'{out.stem}_round{round_index}{out.suffix}')
        summary = train(config, 'mb', merged, round_out, warm_start=checkpoint, progress=False)
        history.append({'round': round_index, 'transitions': merged.steps,
                        'sim_hours': summary['sim_hours'],
                        'best_validation_loss': summary['best_validation_loss'],
                        'seconds': summary['seconds']})
        checkpoint = round_out
    out.write_bytes(pathlib.Path(checkpoint).read_bytes())
    return {'rounds': history, 'transitions': history[-1]['transitions'],
            'sim_hours': history[-1]['sim_hours']}


def train_family(family, budget_name, seed, runs=RUNS):
    """
    Train (or load from the cache) GrBAL, MB, ReBAL and the oracles of one family.

    :return: the cache manifest: 'directory', 'checkpoints' (grbal, mb, rebal and
        oracle -> task -> path), 'data' (transitions, sim-hours, rounds), 'oracles'
        (task -> data volume), 'train_seconds', 'settings', 'cached' (bool).
    """
    budget = BUDGET_SETTINGS[budget_name]
    config = family_config(family, budget, seed)
    directory = pathlib.Path(runs) / 'legged' / family / f'{budget_name}_seed{seed}'
    manifest_path = directory / 'manifest.json'
    settings = settings_record(config, budget)
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        paths = [manifest['checkpoints'][key] for key in ('grbal', 'mb', 'rebal')]
        paths += list(manifest['checkpoints']['oracle'].values())
        if manifest.get('settings') == settings and all(pathlib.Path(p).is_file() for p in paths):
            return dict(manifest, cached=True)
    directory.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # small models train faster on one thread than on two
    checkpoints = {key: str(directory / f'{key}.pt') for key in ('grbal', 'mb', 'rebal')}
    data_path, random_path = directory / 'data.npz', directory / 'random.npz'
    with Stopwatch() as watch:
        initial = []
        if budget.random_episodes:
            # Random episodes need no planning: one process is faster than spawning.
            collect(config, budget.random_episodes, seed + 7919, workers=1).save(random_path)
            initial = [random_path]
        grbal = iterate(config, 'grbal', checkpoints['grbal'], budget.rounds,
                        config.collection.episodes_per_iteration, seed, initial_data=initial,
                        workers=budget.workers, save_data=data_path)
        data = TrajectoryDataset.load(data_path)
        for method in ('mb', 'rebal'):
            train(config, method, data, checkpoints[method],
                  iterations=budget.aggregate_iterations, progress=False)
        oracles, checkpoints['oracle'] = {}, {}
        for index, task in enumerate(held_out_tasks(family, budget)):
            path = directory / f'oracle_{index}.pt'
            oracles[task] = iterate_on_task(config, task, path, budget.rounds,
                                            budget.random_episodes, seed + 1000 * (index + 1),
                                            budget.workers)
            checkpoints['oracle'][task] = str(path)
    torch.set_num_threads(threads)
    manifest = {
        'directory': str(directory), 'checkpoints': checkpoints, 'settings': settings,
        'data': {'transitions': data.steps, 'sim_hours': grbal['sim_hours'],
                 'trajectories': len(data), 'tasks': len(data.tasks),
                 'rounds': grbal['rounds']},
        'oracles': oracles, 'train_seconds': watch.seconds}
    manifest_path.write_text(json.dumps(manifest, indent=1, default=float))
    return dict(manifest, cached=False)


def evaluate_job(job):
    """Pool entry point: one method on one task; return its report without episodes."""
    config, checkpoint, adapter, task, episodes, seed = job
    report, _ = evaluate(config, checkpoint, adapter, task, episodes, seed, threads=1)
    return report


def random_returns(config, task, episodes, seed):
    """Return the returns of the random exploration policy with evaluate()'s seeds."""
    env = make_env(config.robot, condition=task, max_episode_steps=None)
    returns = []
    try:
        for episode_seed in np.random.SeedSequence(seed).generate_state(episodes):
            policy = RandomPolicy(env.action_spec, np.random.default_rng(int(episode_seed)),
                                  config.collection.random_hold_steps)
            run = run_episode(env, policy, int(episode_seed), config.evaluation.episode_steps,
                              until_done=False)
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
    """Bar chart of the normalised return per family and method (oracle = 1)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(METHODS)
    names = list(families)
    for offset, method in enumerate(METHODS):
        means = [families[name]['normalised'][method]['normalised'] for name in names]
        spreads = [families[name]['normalised'][method]['normalised_std'] for name in names]
        x = np.arange(len(names)) + (offset - (len(METHODS) - 1) / 2) * width
        axis.bar(x, [np.nan if m is None else m for m in means], width,
                 yerr=[0.0 if s is None else s for s in spreads], capsize=3, label=method)
    randoms = [families[name]['normalised']['Random']['normalised'] for name in names]
    axis.plot(np.arange(len(names)), [np.nan if r is None else r for r in randoms], 'kx',
              ms=9, label='random policy')
    axis.axhline(1.0, color='k', ls='--', lw=1, label='MB oracle')
    axis.axhline(0.0, color='grey', lw=0.5)
    axis.set_xticks(np.arange(len(names)))
    axis.set_xticklabels([name.replace('_', '\n', 2) for name in names], fontsize=8)
    axis.set_ylabel('return / oracle return')
    axis.set_title('Held-out tasks: normalised return (mean, std over seeds)')
    axis.legend(fontsize=8, ncol=3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def reductions(budget_name):
    """Return what the budget reduces with respect to the paper and the official code."""
    budget = BUDGET_SETTINGS[budget_name]
    configs = {family: family_config(family, budget, 0) for family in FAMILIES}
    config = configs[FAMILIES[0]]
    collection, training = config.collection, config.training
    episodes = budget.rounds * collection.episodes_per_iteration + budget.random_episodes
    horizons = ', '.join(f'{f} {c.controller.horizon}' for f, c in configs.items())
    return [
        f'Algorithm 1: {budget.rounds} rounds x {collection.episodes_per_iteration} episodes '
        f'(+ {budget.random_episodes} random in round 0) x {collection.episode_steps} steps = '
        f'{episodes * collection.episode_steps} transitions per family (official: 50 x 5 x '
        '1000 = 250,000)',
        f'model: {len(config.model.hidden_sizes)} x {config.model.hidden_sizes[0]} ReLU, '
        + ('first' if training.first_order else 'second') + '-order MAML (official: 3 x 512, '
        'second order)',
        f'training: up to {training.iterations} iterations per round (batch '
        f'{training.batch_size}, early stop), MB and ReBAL up to '
        f'{budget.aggregate_iterations or training.iterations} on the aggregated data '
        '(official: 100 epochs per iteration)',
        f'planner: MPPI, {config.controller.num_samples} samples, horizons {horizons} '
        '(official: random shooting, 500 samples, H = 10)',
        f'evaluation: {budget.eval_episodes} seeds x {config.evaluation.episode_steps} steps '
        'per method and test task (official episodes: 1000 steps)'] + (
        [f'only the first {budget.test_tasks} test task(s) of each family']
        if budget.test_tasks else [])


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
