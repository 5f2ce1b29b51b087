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
from meta_mpc_ros.core.roles import DEFAULT_ADAPTER
from meta_mpc_ros.pipeline.agents import AdaptiveAgent, check_adapter, RandomPolicy
from meta_mpc_ros.pipeline.episodes import EpisodeRequest, run_episode
from meta_mpc_ros.robots import path_tasks
from meta_mpc_ros.sim.registry import environment_class, make_env, robot_specs
import numpy as np


@dataclass(frozen=True)
class EpisodePlan:
    """One episode to collect: its seed, task and condition."""

    seed: int
    task: str
    condition: str


def plan_episodes(robot_config, count, seed, condition=None):
    """
    Draw `count` episodes from the training distribution.

    :param condition: run every episode under this condition spec (e.g. a held-out
        test task, for an oracle) instead of drawing one per episode.
    :return: list of EpisodePlan (deterministic in `seed`).
    """
    env_class = environment_class(robot_config.robot)
    rng = np.random.default_rng(seed)
    tasks = robot_config.collection.tasks
    plans = []
    for _ in range(count):
        drawn = condition if condition is not None else env_class.sample_training_condition(rng)
        drawn = drawn if isinstance(drawn, str) else drawn.to_spec()
        task = str(rng.choice(tasks)) if path_tasks(robot_config.robot) else ''
        plans.append(EpisodePlan(int(rng.integers(2 ** 31)), task, drawn))
    return plans


def _make_env(robot, plan, steps):
    """Build the environment of one planned episode."""
    if path_tasks(robot):
        return make_env(robot, task=plan.task, condition=plan.condition, episode_steps=steps)
    return make_env(robot, condition=plan.condition, max_episode_steps=steps)


@dataclass(frozen=True, kw_only=True)
class CollectEpisodeRequest:
    """
    One planned episode for `collect_episode` to run (picklable: a pool job).

    :param robot_config: pipeline.config.RobotConfig (collection settings, controller).
    :param plan: EpisodePlan (seed, task, condition).
    :param checkpoint_path: act with this model's adaptive controller (with exploration
        noise); None acts randomly.
    :param adapter: with a checkpoint, a key of core.adapters.ADAPTERS.
    :param device: where the model runs ('cpu' or 'cuda').
    """

    robot_config: object
    plan: EpisodePlan
    checkpoint_path: str = None
    adapter: str = DEFAULT_ADAPTER
    device: str = 'cpu'

    def __post_init__(self):
        check_adapter(self.adapter)


def collect_episode(request):
    """
    Run one planned episode and return its trajectories (one per condition segment).

    :param request: CollectEpisodeRequest.
    """
    import torch
    torch.set_num_threads(1)
    robot_config, plan, device = request.robot_config, request.plan, request.device
    settings = robot_config.collection
    env = _make_env(robot_config.robot, plan, settings.episode_steps)
    rng = np.random.default_rng(plan.seed)
    if request.checkpoint_path is None:
        policy = RandomPolicy(env.action_spec, rng, settings.random_hold_steps)
    else:
        checkpoint = load_checkpoint(request.checkpoint_path, device, robot=robot_config.robot)
        policy = AdaptiveAgent(checkpoint, request.adapter, robot_config.controller,
                               robot_config.cost_terms(env), robot_config.training.past_steps,
                               robot_config.adapter_settings(request.adapter), device,
                               settings.controller_noise, rng)
    try:
        episode = run_episode(EpisodeRequest(env=env, policy=policy, seed=plan.seed,
                                             steps=settings.episode_steps, until_done=False))
    finally:
        env.close()
    return episode.trajectories()


@dataclass(frozen=True, kw_only=True)
class CollectRequest:
    """
    Episodes for `collect` to gather.

    :param robot_config: pipeline.config.RobotConfig.
    :param episodes: how many episodes, drawn from the training distribution.
    :param seed: seeds the episode plans (tasks, conditions, episode seeds).
    :param checkpoint_path: act with this model's adaptive controller (with exploration
        noise); None acts randomly.
    :param adapter: with a checkpoint, a key of core.adapters.ADAPTERS.
    :param workers: processes (0: one per CPU core; 1: in this process).
    :param progress: optional callable(done, total).
    :param mapper: optional callable(function, jobs) -> results in order (e.g. the Ray
        tasks of `results.grid.Executor.map_jobs`); replaces the process pool when given.
    :param condition: run every episode under this condition spec (None: draw each
        from the training distribution).
    """

    robot_config: object
    episodes: int
    seed: int = 0
    checkpoint_path: object = None
    adapter: str = DEFAULT_ADAPTER
    workers: int = 0
    progress: object = None
    mapper: object = None
    condition: str = None

    def __post_init__(self):
        if self.episodes < 1 or self.workers < 0:
            raise ValueError(f'episodes must be at least 1 and workers >= 0, not '
                             f'{self.episodes} and {self.workers}')
        check_adapter(self.adapter)


def collect(request):
    """
    Collect episodes in parallel.

    :param request: CollectRequest.
    :return: TrajectoryDataset with metadata (robot, seed, policy, steps, control_dt).
    """
    robot_config, checkpoint_path = request.robot_config, request.checkpoint_path
    progress = request.progress
    plans = plan_episodes(robot_config, request.episodes, request.seed, request.condition)
    workers = request.workers or os.cpu_count() or 1
    jobs = [CollectEpisodeRequest(
        robot_config=robot_config, plan=plan, adapter=request.adapter,
        checkpoint_path=None if checkpoint_path is None else str(checkpoint_path))
        for plan in plans]
    trajectories = []
    if request.mapper is not None:
        trajectories = [t for result in request.mapper(collect_episode, jobs) for t in result]
    elif workers == 1:
        for done, job in enumerate(jobs, 1):
            trajectories += collect_episode(job)
            if progress:
                progress(done, len(jobs))
    else:
        context = multiprocessing.get_context('spawn')
        with context.Pool(min(workers, len(jobs))) as pool:
            for done, result in enumerate(pool.imap(collect_episode, jobs), 1):
                trajectories += result
                if progress:
                    progress(done, len(jobs))
    metadata = {'robot': robot_config.robot, 'seed': request.seed,
                'episodes': request.episodes,
                'policy': ('random' if checkpoint_path is None
                           else f'{request.adapter}:{checkpoint_path}'),
                'control_dt': robot_specs(robot_config.robot)[2]}
    if request.condition is not None:
        metadata['task'] = request.condition
    dataset = TrajectoryDataset(trajectories, metadata)
    dataset.metadata['steps'] = dataset.steps
    return dataset


def merge(datasets):
    """Concatenate datasets of the same robot (the aggregated data of Algorithm 1)."""
    trajectories = [t for dataset in datasets for t in dataset.trajectories]
    metadata = dict(datasets[0].metadata)
    metadata['steps'] = sum(dataset.steps for dataset in datasets)
    metadata['sources'] = [dataset.metadata for dataset in datasets]
    return TrajectoryDataset(trajectories, metadata)
