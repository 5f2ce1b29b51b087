"""
Gather experience across tasks sampled from the training distribution, in parallel.

Each episode draws a training condition (e.g. carpet, styrofoam or turf with seeded
variation) and, for the millirobot, a task path, then acts with random actions (the
first round of the paper's Algorithm 1) or with the current adaptive controller plus
exploration noise (later rounds). Workers are separate processes (one torch thread
each); every episode has its own seed, derived from the run's seed, so results do
not depend on the number of workers.
"""

from dataclasses import dataclass
import multiprocessing
import os

from meta_mpc_ros.core.checkpoint import load_checkpoint
from meta_mpc_ros.core.dataset import TrajectoryDataset
from meta_mpc_ros.pipeline.agents import AdaptiveAgent, RandomPolicy
from meta_mpc_ros.pipeline.episodes import run_episode
from meta_mpc_ros.sim.registry import environment_class, make_env
import numpy as np


@dataclass(frozen=True)
class EpisodePlan:
    """One episode to collect: its seed, task and condition."""

    seed: int
    task: str
    condition: str


def plan_episodes(robot_config, count, seed):
    """
    Draw `count` episodes from the training distribution.

    :return: list of EpisodePlan (deterministic in `seed`).
    """
    env_class = environment_class(robot_config.robot)
    rng = np.random.default_rng(seed)
    tasks = robot_config.collection.tasks
    plans = []
    for _ in range(count):
        condition = env_class.sample_training_condition(rng)
        condition = condition if isinstance(condition, str) else condition.to_spec()
        task = str(rng.choice(tasks)) if robot_config.robot == 'millirobot' else ''
        plans.append(EpisodePlan(int(rng.integers(2 ** 31)), task, condition))
    return plans


def _make_env(robot, plan, steps):
    """Build the environment of one planned episode."""
    if robot == 'millirobot':
        return make_env(robot, task=plan.task, condition=plan.condition, episode_steps=steps)
    return make_env(robot, condition=plan.condition, max_episode_steps=steps)


def collect_episode(robot_config, plan, checkpoint_path=None, adapter='grbal', device='cpu'):
    """
    Run one planned episode and return its trajectories (one per condition segment).

    :param checkpoint_path: act with this model's adaptive controller (with exploration
        noise); None acts randomly.
    """
    import torch
    torch.set_num_threads(1)
    settings = robot_config.collection
    env = _make_env(robot_config.robot, plan, settings.episode_steps)
    rng = np.random.default_rng(plan.seed)
    if checkpoint_path is None:
        policy = RandomPolicy(env.action_spec, rng, settings.random_hold_steps)
    else:
        checkpoint = load_checkpoint(checkpoint_path, device, robot=robot_config.robot)
        policy = AdaptiveAgent(checkpoint, adapter, robot_config.controller,
                               robot_config.cost_terms(env), robot_config.training.past_steps,
                               robot_config.evaluation, device, settings.controller_noise, rng)
    try:
        episode = run_episode(env, policy, plan.seed, settings.episode_steps, until_done=False)
    finally:
        env.close()
    return episode.trajectories()


def _worker(arguments):
    """Pool entry point: collect one episode (arguments are picklable)."""
    return collect_episode(*arguments)


def collect(robot_config, count, seed, checkpoint_path=None, adapter='grbal', workers=0,
            progress=None, mapper=None):
    """
    Collect `count` episodes in parallel.

    :param workers: processes (0: one per CPU core; 1: in this process).
    :param progress: optional callable(done, total).
    :param mapper: optional callable(function, jobs) -> results in order (e.g. the Ray
        tasks of `results.grid.Executor.map_jobs`); replaces the process pool when given.
    :return: TrajectoryDataset with metadata (robot, seed, policy, steps, control_dt).
    """
    plans = plan_episodes(robot_config, count, seed)
    workers = workers or os.cpu_count() or 1
    arguments = [(robot_config, plan, None if checkpoint_path is None else str(checkpoint_path),
                  adapter) for plan in plans]
    trajectories = []
    if mapper is not None:
        trajectories = [t for result in mapper(_worker, arguments) for t in result]
    elif workers == 1:
        for done, item in enumerate(arguments, 1):
            trajectories += _worker(item)
            if progress:
                progress(done, len(arguments))
    else:
        context = multiprocessing.get_context('spawn')
        with context.Pool(min(workers, len(arguments))) as pool:
            for done, result in enumerate(pool.imap(_worker, arguments), 1):
                trajectories += result
                if progress:
                    progress(done, len(arguments))
    env = make_env(robot_config.robot)
    control_dt = env.control_dt
    env.close()
    dataset = TrajectoryDataset(trajectories, {
        'robot': robot_config.robot, 'seed': seed, 'episodes': count,
        'policy': 'random' if checkpoint_path is None else f'{adapter}:{checkpoint_path}',
        'control_dt': control_dt})
    dataset.metadata['steps'] = dataset.steps
    return dataset


def merge(datasets):
    """Concatenate datasets of the same robot (the aggregated data of Algorithm 1)."""
    trajectories = [t for dataset in datasets for t in dataset.trajectories]
    metadata = dict(datasets[0].metadata)
    metadata['steps'] = sum(dataset.steps for dataset in datasets)
    metadata['sources'] = [dataset.metadata for dataset in datasets]
    return TrajectoryDataset(trajectories, metadata)
