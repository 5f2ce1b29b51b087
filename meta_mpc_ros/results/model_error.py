"""
Section 1 of the results: the model's prediction error before and after adapting.

For each condition (training and held-out), seeded episodes of exploration actions
are read window after window, as a robot reads them online (core.session): every
method steps once per control step on the last M transitions and is scored on the K
after them (normalised one-step MSE, the meta-objective):

    MB         theta*, no adaptation
    MB+DE      SGD steps on each window, parameters carried from window to window
    GrBAL      theta* ("before") and theta' after its one meta-learned step ("after"),
               restarting from theta* at every window
    ReBAL      with the context its encoder reads from the past window
    Continual  meta-learned steps carried from window to window, reset on a change

MB+DE and Continual are scored exactly as they run in closed loop, with their
parameters carried across the windows of an episode. A second measurement follows
errors over time around a condition switch.
"""

import dataclasses
import json
import pathlib

from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.checkpoint import load_checkpoint
from meta_mpc_ros.core.dataset import Trajectory
from meta_mpc_ros.core.session import AdaptationSession, carried_window_errors
from meta_mpc_ros.pipeline.agents import RandomPolicy
from meta_mpc_ros.pipeline.collect import collect_episode, CollectEpisodeRequest, EpisodePlan
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.pipeline.episodes import EpisodeRequest, run_episode
from meta_mpc_ros.results.common import (figure_path, plan_of, RUNS, Stopwatch,
                                         write_json)
from meta_mpc_ros.results.legged_training import TRAINED
from meta_mpc_ros.robots import path_tasks
from meta_mpc_ros.shipped import adapter_for, shipped_checkpoint
from meta_mpc_ros.sim.registry import environment_class, make_env
import numpy as np
import torch

# method label -> (checkpoint key: the training method, adapter), from the adapter
# registry; an adapter falls back to the next of its checkpoint methods where its own
# was not trained (Continual to GrBAL's theta* and psi).
METHODS = {spec.label: (spec.training_method, name) for name, spec in ADAPTERS.items()}


def sessions(checkpoints, robot_config):
    """
    Return method -> a fresh AdaptationSession for every method of METHODS.

    :param robot_config: RobotConfig, whose `adapters` give each adapter its settings.
    """
    loaded = {}
    result = {}
    for method, (_, adapter) in METHODS.items():
        key = next(key for key in ADAPTERS[adapter].checkpoint_methods if key in checkpoints)
        if key not in loaded:
            loaded[key] = load_checkpoint(checkpoints[key])
        checkpoint = loaded[key]
        meta_params = checkpoint.params
        result[method] = AdaptationSession(
            checkpoint.model, adapter_for(checkpoint, adapter, meta_params,
                                          robot_config.adapter_settings(adapter)), meta_params)
    return result


def condition_trajectories(robot_config, condition, episodes, seed):
    """Return the trajectories of seeded exploration episodes under one condition."""
    trajectories = []
    task = 'figure8' if path_tasks(robot_config.robot) else ''
    for index in range(episodes):
        plan = EpisodePlan(seed=seed + index, task=task, condition=condition)
        trajectories += collect_episode(CollectEpisodeRequest(robot_config=robot_config,
                                                              plan=plan))
    return trajectories


def score(session, trajectories, robot_config, every=1):
    """Return (before, after) arrays over every kept window of the trajectories."""
    before, after = [], []
    for trajectory in trajectories:
        window_before, window_after = carried_window_errors(
            session, torch.as_tensor(trajectory.states), torch.as_tensor(trajectory.actions),
            robot_config.training.past_steps, robot_config.training.future_steps, every)
        before += window_before
        after += window_after
    return np.array(before), np.array(after)


def errors_by_condition(robot_config, checkpoints, conditions, episodes, seed, every=5):
    """
    Score every method on every condition.

    :param conditions: dict name -> (spec, 'train' or 'test').
    :param every: keep the score of every `every`-th window (all windows are stepped).
    :return: (rows, transitions): rows are dicts condition, split, method, before,
        after, before_std, after_std (means over windows).
    """
    torch.set_num_threads(2)
    rows, transitions = [], 0
    for name, (spec, split) in conditions.items():
        trajectories = condition_trajectories(robot_config, spec, episodes, seed)
        transitions += sum(trajectory.steps for trajectory in trajectories)
        for method, session in sessions(checkpoints, robot_config).items():
            before, after = score(session, trajectories, robot_config, every)
            rows.append({'condition': name, 'spec': spec, 'split': split, 'method': method,
                         'before': float(before.mean()), 'after': float(after.mean()),
                         'before_std': float(before.std()), 'after_std': float(after.std()),
                         'windows': len(before), 'resets': session.resets})
    return rows, transitions


def errors_around_switch(robot_config, checkpoints, start, switch_to, switch_step, steps,
                         seed):
    """
    Follow each method's error over one episode whose condition switches mid-way.

    :return: dict method -> list of (step, error after adapting) and 'GrBAL (before)'.
    """
    kwargs = {'condition': start}
    if path_tasks(robot_config.robot):
        kwargs['task'] = 'figure8'
    env = make_env(robot_config.robot, **kwargs)
    try:
        policy = RandomPolicy(env.action_spec, np.random.default_rng(seed),
                              robot_config.collection.random_hold_steps)
        episode = run_episode(EpisodeRequest(env=env, policy=policy, seed=seed, steps=steps,
                                             switch=(switch_step, switch_to), until_done=False))
    finally:
        env.close()
    trajectory = episode_trajectory(episode)
    curves = {}
    for method, session in sessions(checkpoints, robot_config).items():
        before, after = score(session, [trajectory], robot_config)
        # Window j reads steps j..j+M-1 and is scored on the K after them: index the
        # curve by the first scored step, j + M.
        offset = robot_config.training.past_steps
        curves[method] = [(j + offset, float(value)) for j, value in enumerate(after)]
        if method == 'GrBAL':
            curves['GrBAL (before)'] = [(j + offset, float(v)) for j, v in enumerate(before)]
    return curves


def episode_trajectory(episode):
    """Return the whole episode as one trajectory (switch included, for the curve)."""
    return Trajectory(np.array(episode.states), np.array(episode.actions), 'switch')


BUDGET = {'smoke': {'episodes': 1, 'steps': 40, 'switch_steps': 60},
          'full': {'episodes': 6, 'steps': 200, 'switch_steps': 200}}
MILLIROBOT_CONDITIONS = {
    'carpet': ('carpet', 'train'), 'styrofoam': ('styrofoam', 'train'),
    'turf': ('turf', 'train'), 'missing_leg': ('missing_leg', 'test'),
    'slippery_slope': ('slippery_slope', 'test'), 'novel_terrain': ('novel_terrain', 'test'),
    'miscalibration': ('miscalibration', 'test'), 'payload': ('payload', 'test'),
    'slope+payload': ('slippery_slope,payload', 'test')}


def legged_conditions(robot):
    """Return the training and held-out conditions of a legged family (or any robot's env)."""
    env_class = environment_class(robot)
    conditions = {}
    for spec in env_class.TRAINING_CONDITIONS or ():
        spec = spec if isinstance(spec, str) else spec.to_spec()
        conditions[spec] = (spec, 'train')
    for spec in env_class.TEST_CONDITIONS:
        spec = spec if isinstance(spec, str) else spec.to_spec()
        conditions[spec] = (spec, 'test')
    return conditions


def run(budget='full', seed=0, out='docs', robots=None, only=None):
    """
    Measure section 1 and write model_error.json and its figures.

    Covers the millirobot and the differential-drive base (shipped models) and
    half-cheetah with a disabled joint when results/legged has trained its models.

    :param robots: dict robot -> training method (core.objectives.METHODS) -> checkpoint
        path, one serving each adapter (Continual uses GrBAL's without one of its own);
        default the shipped millirobot models plus half_cheetah_disabled_joint's if
        trained.
    :param only: measure only these robots and keep the other robots' entries already
        in <out>/results/model_error.json (e.g. half-cheetah after section 3 retrained
        it, leaving the millirobot's as they are).
    """
    plan = plan_of(BUDGET, budget)
    robots = robots or default_robots(budget, seed)
    data = {'budget': budget, 'seed': seed, 'robots': {}}
    if only:
        robots = {robot: paths for robot, paths in robots.items() if robot in only}
        previous = pathlib.Path(out) / 'results' / 'model_error.json'
        if previous.is_file():
            data['robots'] = {robot: entry for robot, entry in json.loads(
                previous.read_text())['robots'].items() if robot not in only}
    for robot, checkpoints in robots.items():
        config = load_robot_config(robot)
        config = dataclasses.replace(config, collection=dataclasses.replace(
            config.collection, episode_steps=plan['steps']))
        conditions = MILLIROBOT_CONDITIONS if robot == 'millirobot' else legged_conditions(robot)
        with Stopwatch() as watch:
            rows, transitions = errors_by_condition(config, checkpoints, conditions,
                                                    plan['episodes'], seed)
            switch_config = dataclasses.replace(config, collection=dataclasses.replace(
                config.collection, episode_steps=plan['switch_steps']))
            test = [spec for spec, split in conditions.values() if split == 'test']
            start = next(spec for spec, split in conditions.values() if split == 'train')
            switch_to = 'slippery_slope,payload' if robot == 'millirobot' else test[0]
            curves = errors_around_switch(switch_config, checkpoints, start, switch_to,
                                          plan['switch_steps'] // 2, plan['switch_steps'],
                                          seed)
        data['robots'][robot] = {
            'checkpoints': {k: str(v) for k, v in checkpoints.items()}, 'rows': rows,
            'switch': {'from': start, 'to': switch_to, 'at_step': plan['switch_steps'] // 2,
                       'curves': curves},
            'transitions': transitions + plan['switch_steps'],
            'sim_hours': (transitions + plan['switch_steps']) * _control_dt(robot) / 3600,
            'episodes_per_condition': plan['episodes'], 'wall_seconds': watch.seconds,
            'past_steps': config.training.past_steps,
            'future_steps': config.training.future_steps}
        plot_bars(rows, robot, figure_path(f'model_error_{robot}', out))
        plot_switch(data['robots'][robot]['switch'], robot,
                    figure_path(f'model_error_switch_{robot}', out))
    write_json('model_error', data, out)
    return data


def _control_dt(robot):
    """Return a robot's control period, s."""
    env = make_env(robot)
    try:
        return env.control_dt
    finally:
        env.close()


def default_robots(budget, seed):
    """
    Return the shipped models (millirobot, diff_drive), and half-cheetah's if made.

    The half-cheetah's are results/legged's trained models.

    :param budget: the legged budget whose cached models to use (same seed).
    """
    robots = {robot: {spec.training_method: shipped_checkpoint(robot, name)
                      for name, spec in ADAPTERS.items()}
              for robot in ('millirobot', 'diff_drive')}
    folder = RUNS / 'legged' / 'half_cheetah_disabled_joint' / f'{budget}_seed{seed}'
    cheetah = {m: folder / f'{m}.pt' for m in TRAINED if (folder / f'{m}.pt').is_file()}
    # Every adapter needs one of its checkpoint methods (Continual can use GrBAL's).
    if all(set(spec.checkpoint_methods) & set(cheetah) for spec in ADAPTERS.values()):
        robots['half_cheetah_disabled_joint'] = cheetah
    return robots


def plot_bars(rows, robot, path):
    """Bars of the error after adapting per condition and method (GrBAL's before too)."""
    from meta_mpc_ros.pipeline.plots import figure_axes, save_figure
    conditions = list(dict.fromkeys(row['condition'] for row in rows))
    series = ['MB', 'MB+DE', 'GrBAL (before)', 'GrBAL', 'ReBAL', 'Continual']
    figure, axis = figure_axes(figsize=(max(8, 1.3 * len(conditions)), 4.5))
    width = 0.8 / len(series)
    for offset, name in enumerate(series):
        method, key = ('GrBAL', 'before') if name == 'GrBAL (before)' else (name, 'after')
        values = [next(r[key] for r in rows if r['condition'] == c and r['method'] == method)
                  for c in conditions]
        axis.bar(np.arange(len(conditions)) + offset * width, values, width, label=name)
    axis.set_xticks(np.arange(len(conditions)) + 0.4 - width / 2)
    labels = [f'{c}\n({next(r["split"] for r in rows if r["condition"] == c)})'
              for c in conditions]
    axis.set_xticklabels(labels, fontsize=8)
    axis.set_ylabel('one-step error over the next K (normalised MSE)')
    axis.set_title(f'{robot}: model error on the K future transitions after reading M')
    axis.legend(fontsize=8)
    save_figure(figure, path, dpi=100)


def plot_switch(switch, robot, path):
    """Curves of the error over time around a condition switch."""
    from meta_mpc_ros.pipeline.plots import figure_axes, save_figure
    figure, axis = figure_axes(figsize=(9, 4))
    for name, curve in switch['curves'].items():
        steps, values = zip(*curve)
        kernel = np.ones(5) / 5
        smooth = np.convolve(values, kernel, mode='same')
        axis.plot(steps, smooth, label=name, ls='--' if 'before' in name else '-')
    axis.axvline(switch['at_step'], color='k', ls=':', lw=1)
    axis.set_yscale('log')
    axis.set_xlabel('control step')
    axis.set_ylabel('one-step error over the next K (5-step moving mean)')
    axis.set_title(f'{robot}: {switch["from"]} -> {switch["to"]} at step {switch["at_step"]}')
    axis.legend(fontsize=8)
    save_figure(figure, path, dpi=100)
