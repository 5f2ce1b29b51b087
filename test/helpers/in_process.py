"""
The in-process twin of a graph episode.

pipeline.episodes.run_episode with a robot's config, a checkpoint and an adapter, on
one torch thread as the nodes plan.
"""

from meta_mpc_ros.core.checkpoint import load_checkpoint
from meta_mpc_ros.pipeline.agents import AdaptiveAgent
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.pipeline.episodes import EpisodeRequest, run_episode
from meta_mpc_ros.sim.registry import make_env
import numpy as np
import torch


def in_process(robot, checkpoint, adapter, condition, seed, steps, task=None, switch=None,
               environment=None):
    """
    Run one in-process episode.

    :param robot: a registered robot's name.
    :param environment: the environment (sim.registry) to run, if not the robot's own
        (one of its other worlds').
    :param task: the reference task (None for a robot without path tasks).
    :param switch: (step, condition) changing the world mid-episode, or None.
    :return: (states (T+1, nx), actions (T, nu)) as numpy arrays.
    """
    config = load_robot_config(robot)
    env = make_env(environment or robot, condition=condition,
                   **({} if task is None else {'task': task}))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        agent = AdaptiveAgent(load_checkpoint(checkpoint), adapter, config.controller,
                              config.cost_terms(env), config.training.past_steps,
                              config.adapter_settings(adapter))
        episode = run_episode(EpisodeRequest(env=env, policy=agent, seed=seed, steps=steps,
                                             options={'condition': condition},
                                             switch=switch, until_done=False))
    finally:
        torch.set_num_threads(threads)
        env.close()
    return np.array(episode.states), np.array(episode.actions)
