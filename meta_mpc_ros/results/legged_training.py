"""
Training for the legged results: budgets, per-family configs, Algorithm 1 and oracles.

results/legged.py evaluates and reports what this trains; results/sample_efficiency.py
reuses its cached rounds. See results/legged.py for the experiment as a whole.
"""

from dataclasses import asdict, dataclass, replace
import json
import multiprocessing
import pathlib

from meta_mpc_ros.core.dataset import TrajectoryDataset
from meta_mpc_ros.pipeline.collect import (collect, collect_episode, CollectEpisodeRequest,
                                           CollectRequest, EpisodePlan, merge)
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.pipeline.iterate import iterate, IterateRequest
from meta_mpc_ros.pipeline.train import robot_specs, train, TrainRequest
from meta_mpc_ros.results.common import RUNS, Stopwatch
from meta_mpc_ros.sim.registry import environment_class
import numpy as np
import torch

FAMILIES = ('half_cheetah_disabled_joint', 'half_cheetah_hills', 'half_cheetah_pier',
            'ant_crippled_leg')


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
    """Pool entry point: collect one planned episode (a CollectEpisodeRequest)."""
    return collect_episode(job)


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
        jobs = [CollectEpisodeRequest(robot_config=config, plan=plan, adapter='mb',
                                      checkpoint_path=None if checkpoint is None
                                      else str(checkpoint)) for plan in plans]
        trajectories = [t for result in pool_map(_collect_job, jobs, workers if checkpoint
                                                 else 1) for t in result]
        datasets.append(TrajectoryDataset(trajectories, {
            'robot': config.robot, 'seed': seed, 'episodes': len(plans), 'task': condition,
            'policy': 'random' if checkpoint is None else f'mb:{checkpoint}',
            'control_dt': control_dt}))
        merged = merge(datasets)
        round_out = out.with_name(f'{out.stem}_round{round_index}{out.suffix}')
        summary = train(TrainRequest(robot_config=config, method='mb', dataset=merged,
                                     out=round_out, warm_start=checkpoint, progress=False))
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
            collect(CollectRequest(robot_config=config, episodes=budget.random_episodes,
                                   seed=seed + 7919, workers=1)).save(random_path)
            initial = [random_path]
        grbal = iterate(IterateRequest(robot_config=config, method='grbal',
                                       out=checkpoints['grbal'], rounds=budget.rounds,
                                       episodes=config.collection.episodes_per_iteration,
                                       seed=seed, initial_data=initial,
                                       workers=budget.workers, save_data=data_path))
        data = TrajectoryDataset.load(data_path)
        for method in ('mb', 'rebal'):
            train(TrainRequest(robot_config=config, method=method, dataset=data,
                               out=checkpoints[method], iterations=budget.aggregate_iterations,
                               progress=False))
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
