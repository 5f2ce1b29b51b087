"""
Closed-loop evaluation in the simulator, in-process and deterministic with a seed.

Any adapter (mb, de, grbal, rebal) runs with any condition spec, including
combinations never seen in training, optionally switching condition mid-episode.
The report's top-level `cost` is the mean over episodes of the episode's total task
cost (lower is better); beside it are per-episode costs, tracking distance, the one-step
prediction error over the next K steps before and after adaptation, the open-loop error
over the planner's horizon H (pipeline.episodes), and the time per control step.
"""

from dataclasses import dataclass
import json
import pathlib

from meta_mpc_ros.core.checkpoint import load_checkpoint
from meta_mpc_ros.pipeline.agents import AdaptiveAgent, check_adapter
from meta_mpc_ros.pipeline.episodes import check_switch, EpisodeRequest, run_episode
from meta_mpc_ros.robots import path_tasks
from meta_mpc_ros.sim.registry import make_env
import numpy as np
import torch


def summarise(episode, switch_step=None):
    """Return the JSON-ready numbers of one episode."""
    step_ms = np.array(episode.step_ms)
    before = np.array([value for _, value in episode.error_before])
    after = np.array([value for _, value in episode.error_after])
    result = {'cost': float(np.sum(episode.costs)), 'steps': episode.steps,
              'cost_per_step': float(np.mean(episode.costs)),
              'step_ms_median': float(np.median(step_ms)),
              'step_ms_p99': float(np.percentile(step_ms, 99)),
              'prediction_error_before': float(before.mean()) if before.size else None,
              'prediction_error_after': float(after.mean()) if after.size else None,
              'final_condition': episode.conditions[-1] if episode.conditions else None}
    for key in ('position_m', 'heading_rad', 'state_nmse'):
        values = [scores[key] for _, scores in episode.horizon_errors if key in scores]
        result[f'horizon_{key}'] = float(np.mean(values)) if values else None
    if episode.infos and 'distance' in episode.infos[0]:
        distance = np.array([info['distance'] for info in episode.infos])
        result['distance_mean_m'] = float(distance.mean())
        result['progress_m'] = float(sum(info['progress'] for info in episode.infos))
        if switch_step is not None and 0 < switch_step < len(distance):
            result['distance_before_switch_m'] = float(distance[:switch_step].mean())
            result['distance_after_switch_m'] = float(distance[switch_step:].mean())
    if episode.infos and 'forward_velocity' in episode.infos[0]:
        result['return'] = -result['cost']
    return result


@dataclass(frozen=True, kw_only=True)
class EvaluateRequest:
    """
    Closed-loop episodes for `evaluate` to run.

    :param robot_config: pipeline.config.RobotConfig (controller, cost, evaluation).
    :param checkpoint_path: the checkpoint to plan with.
    :param adapter: a key of core.adapters.ADAPTERS.
    :param condition: condition spec at the start of each episode.
    :param episodes: how many episodes; their seeds are drawn from `seed`.
    :param seed: seeds the episodes.
    :param task: the millirobot's path (None: figure8); other robots have none.
    :param switch: optional (step, spec) condition change mid-episode.
    :param steps: episode length in control steps (None or 0: the config's or the env's).
    :param device: where the model runs ('cpu' or 'cuda').
    :param record_frames: keep rendered frames (for `write_report`'s video).
    :param threads: torch threads while the episodes run (restored afterwards).
    """

    robot_config: object
    checkpoint_path: object
    adapter: str
    condition: str
    episodes: int = 1
    seed: int = 0
    task: str = None
    switch: tuple = None
    steps: int = None
    device: str = 'cpu'
    record_frames: bool = False
    threads: int = 2

    def __post_init__(self):
        check_adapter(self.adapter)
        if self.episodes < 1 or self.threads < 1:
            raise ValueError('episodes and threads must be at least 1')
        if self.steps is not None and self.steps < 0:
            raise ValueError(f'steps must be None or >= 0, not {self.steps}')
        check_switch(self.switch)


def episode_seeds(seed, episodes):
    """Return the reset seeds of `episodes` episodes drawn from `seed`."""
    return [int(value) for value in np.random.SeedSequence(seed).generate_state(episodes)]


def evaluate(request):
    """
    Run closed-loop episodes and return (report dict, list of Episode).

    :param request: EvaluateRequest.
    """
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(request.threads)
    try:
        return _evaluate(request)
    finally:
        torch.set_num_threads(previous_threads)


def _evaluate(request):
    """Run the episodes of `evaluate` (with torch's thread count already set)."""
    robot_config, switch, device = request.robot_config, request.switch, request.device
    checkpoint = load_checkpoint(request.checkpoint_path, device, robot=robot_config.robot)
    kwargs = {'condition': request.condition}
    if path_tasks(robot_config.robot):
        kwargs['task'] = request.task or 'figure8'
        if request.record_frames:
            kwargs.update(render_mode='rgb_array', render_width=320, render_height=240)
    steps = request.steps or robot_config.evaluation.episode_steps or None
    env = make_env(robot_config.robot, **kwargs)
    agent = AdaptiveAgent(checkpoint, request.adapter, robot_config.controller,
                          robot_config.cost_terms(env), robot_config.training.past_steps,
                          robot_config.adapter_settings(request.adapter), device)
    seeds = episode_seeds(request.seed, request.episodes)
    # After a switch every episode starts again in the request's condition (the
    # environment keeps the condition it was last set to).
    options = {'condition': request.condition} if switch else None
    runs = []
    try:
        for episode_seed in seeds:
            runs.append(run_episode(EpisodeRequest(
                env=env, policy=agent, seed=int(episode_seed), steps=steps, switch=switch,
                options=options,
                record_frames=request.record_frames,
                prediction_horizon=robot_config.training.future_steps,
                rollout_horizon=robot_config.controller.horizon)))
    finally:
        env.close()
    details = [summarise(run, switch[0] if switch else None) for run in runs]
    report = {
        'cost': float(np.mean([d['cost'] for d in details])),
        'cost_std': float(np.std([d['cost'] for d in details])),
        'robot': robot_config.robot, 'task': kwargs.get('task'),
        'condition': request.condition, 'switch': list(switch) if switch else None,
        'adapter': request.adapter, 'checkpoint': str(request.checkpoint_path),
        'checkpoint_hash': checkpoint.digest, 'method': checkpoint.method,
        'episodes': request.episodes, 'seed': request.seed,
        'prediction_horizon': robot_config.training.future_steps, 'details': details}
    for key in ('prediction_error_before', 'prediction_error_after', 'step_ms_median',
                'distance_mean_m', 'horizon_position_m', 'horizon_heading_rad',
                'horizon_state_nmse'):
        values = [d[key] for d in details if d.get(key) is not None]
        report[key] = float(np.mean(values)) if values else None
    return report, runs


def write_report(report, runs, json_path=None, plot_path=None, video_path=None, path=None):
    """Write the JSON report, a plot of the run(s) and optionally a video."""
    if json_path:
        pathlib.Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(json_path).write_text(json.dumps(report, indent=1))
    if plot_path:
        from meta_mpc_ros.pipeline.plots import plot_episodes
        plot_episodes(runs, report, plot_path, path)
    if video_path:
        frames = [frame for run in runs[:1] for frame in run.frames]
        if not frames:
            raise ValueError('no frames recorded: evaluate with record_frames=True')
        from meta_mpc_ros.sim.render import write_video
        write_video(frames, video_path, fps=10)
