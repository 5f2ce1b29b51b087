"""
`meta-mpc demo` (`make demo`): adaptation at work in the running node graph.

The graph runs in lockstep (the simulator waits for the controller, the controller for
the model of each window), so two runs print the same table on any machine under any
load. The robot (`--robot`, a registered description with a simulator: the millirobot
by default) follows a figure-8 from its description's starting condition (the
millirobot's carpet) with the shipped GrBAL model; at
`--switch-at` seconds of sim time the world changes to a held-out condition (by
default a slippery slope with a pulled payload). The same run is repeated with every
other adapter (continual, ReBAL, MB+DE) and the non-adaptive MB model. The demo prints
a table of tracking error and model error before and after the switch, each adapter
against MB, whatever it shows, and writes a plot, a GIF of the GrBAL run (rendered
from its bag) and every rosbag under --out.
"""

import json
import os
import pathlib
import time

from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.roles import BASELINE_ADAPTER, DEFAULT_ADAPTER
from meta_mpc_ros.robots import DEFAULT_ROBOT, robot_description, ROBOTS
import numpy as np


# Lockstep runs as fast as the graph computes; give up beyond this many wall s per sim s.
LOCKSTEP_WALL_PER_SIM_S = 20.0
# (switch, duration), sim s: a robot that follows a path at 10 Hz, and one that runs
# forward at its own (faster) control rate, a legged robot at 100 Hz.
PATH_TIMING = (15.0, 40.0)
FORWARD_TIMING = (3.0, 8.0)
# Forward speed is measured from this long after the start and after the switch, sim s.
SETTLE_S = 0.5


def demo_adapters():
    """Return every registered adapter: the paper's first, the newest next, MB last."""
    others = [name for name in reversed(ADAPTERS)
              if name not in (DEFAULT_ADAPTER, BASELINE_ADAPTER)]
    return (DEFAULT_ADAPTER, *others, BASELINE_ADAPTER)


def add_parser(subparsers):
    """Register `meta-mpc demo`."""
    parser = subparsers.add_parser('demo', help='every adapter vs MB in the running graph '
                                   'when the terrain changes (the main job)')
    parser.add_argument('--robot', default=DEFAULT_ROBOT,
                        choices=[name for name, robot in ROBOTS.items() if robot.sim],
                        help='the robot to simulate (robots.ROBOTS)')
    parser.add_argument('--condition', default='',
                        help="held-out condition after the switch (default: the robot's "
                        "demo_condition, the millirobot's slippery_slope,payload)")
    parser.add_argument('--switch-at', type=float, default=None,
                        help=f'sim s (default {PATH_TIMING[0]:g}, a robot without path tasks '
                        f'{FORWARD_TIMING[0]:g})')
    parser.add_argument('--duration', type=float, default=None,
                        help=f'sim s per run (default {PATH_TIMING[1]:g}, a robot without path '
                        f'tasks {FORWARD_TIMING[1]:g})')
    parser.add_argument('--task', default='figure8')
    parser.add_argument('--out', default='', help='output folder (default runs/demo-<time>)')
    parser.add_argument('--adapters', default=','.join(demo_adapters()),
                        help='comma-separated adapters to run, in order')
    parser.add_argument('--no-video', action='store_true')
    parser.set_defaults(run=run)


def run(args):
    """Run the demo; return 0."""
    from meta_mpc_ros.ros.discovery import isolate_dds
    isolate_dds()
    from meta_mpc_ros.ros.graph.run import run_graph
    out = pathlib.Path(args.out or time.strftime('runs/demo-%Y%m%d-%H%M%S')).resolve()
    out.mkdir(parents=True, exist_ok=True)
    robot = robot_description(args.robot)
    timing = PATH_TIMING if robot.tasks else FORWARD_TIMING
    args.switch_at = timing[0] if args.switch_at is None else args.switch_at
    args.duration = timing[1] if args.duration is None else args.duration
    args.condition = args.condition or robot.sim.demo_condition
    what = args.task if robot.tasks else 'running forward'
    print(f'meta-mpc demo: {robot.name}, {what} on {robot.sim.default_condition}, then '
          f'{args.condition} at {args.switch_at:g} s of {args.duration:g} s; ROS_DOMAIN_ID '
          f'{os.environ["ROS_DOMAIN_ID"]}; output in {out}', flush=True)
    results = {}
    for adapter in args.adapters.split(','):
        print(f'\n[{adapter}] starting the graph (sim, estimator, adaptive dynamics, MPPI, '
              f'{"reference, " if robot.tasks else ""}recorder)', flush=True)
        values = {'robot': robot.name, 'adapter': adapter, 'task': args.task, 'record': True,
                  'lockstep': True, 'terrain_schedule': f'{args.switch_at}:{args.condition}'}
        graph_run = run_graph(values, out / adapter, args.duration,
                              progress=_progress(adapter, args.duration),
                              wall_timeout=LOCKSTEP_WALL_PER_SIM_S * args.duration + 120.0)
        results[adapter] = analyse(graph_run, args.switch_at, args.duration, robot.pose[:2]) \
            if robot.tasks else analyse_forward(graph_run, args.switch_at, args.duration,
                                                forward_entry(robot))
        print(f'[{adapter}] done in {graph_run.wall_seconds:.0f} s wall; bag '
              f'{graph_run.graph.bag_dir}', flush=True)
    table = format_table(results, args.condition) if robot.tasks else \
        format_forward_table(results, args.condition)
    print('\n' + table)
    (out / 'table.md').write_text(table + '\n')
    (out / 'results.json').write_text(json.dumps(
        {adapter: {k: v for k, v in result.items() if not k.startswith('_')}
         for adapter, result in results.items()}, indent=1))
    (plot if robot.tasks else plot_forward)(results, args, out / 'demo.png')
    print(f'\nwrote {out / "table.md"}, {out / "results.json"}, {out / "demo.png"}')
    # The video replays the default robot (the millirobot) from its bag.
    if not args.no_video and DEFAULT_ADAPTER in results and robot.name == DEFAULT_ROBOT:
        from meta_mpc_ros.demo_video import video_from_bag
        video = video_from_bag(out / DEFAULT_ADAPTER / 'bag', out / f'{DEFAULT_ADAPTER}.gif')
        print(f'wrote {video}')
    return 0


def _progress(adapter, duration):
    """Return a callback printing the sim time every few seconds."""
    last = [-10.0]

    def report(sim_time):
        if sim_time - last[0] >= 5.0:
            print(f'[{adapter}] sim time {sim_time:5.1f} / {duration:g} s', flush=True)
            last[0] = sim_time
    return report


def analyse(graph_run, switch_at, duration, position=('x', 'y')):
    """
    Return tracking and model-error numbers of one run, split at the switch.

    They are read from the run's bag (every state the estimator published, every
    adaptation status), not from what this process heard: a lockstep graph does not
    wait for a listener, so one that falls behind under load may miss messages. Only
    what is stamped before `duration` (sim s) counts: the graph runs on a little while
    it is stopped, by as much as the wall clock allows.

    :param position: the names of the state's x and y entries (the description's pose).
    """
    from meta_mpc_ros.core.reference import PathTracker
    from meta_mpc_ros.ros.conversions import read_reference_path
    seen = graph_run.seen
    if seen.reference is None:
        raise RuntimeError('no reference path was received')
    tracker = PathTracker(read_reference_path(seen.reference), laps=100)
    states, errors = _bag_states_and_errors(graph_run, duration, position)
    times, distances, along, points = [], [], [], []
    for stamp, (x, y) in sorted(states.items()):
        _, distance = tracker.project(np.array([x, y]))
        times.append(stamp)
        distances.append(distance)
        along.append(tracker.path.arclength[tracker.index])
        points.append((x, y))
    times, distances, along = map(np.array, (times, distances, along))
    before, after = times < switch_at, times >= switch_at + 1.0
    error_before = [e for stamp, e in sorted(errors.items()) if stamp < switch_at]
    error_after = [e for stamp, e in sorted(errors.items()) if stamp >= switch_at]

    def mean(values):
        return float(np.mean(values)) if len(values) else None

    duration_after = times[after][-1] - times[after][0] if after.sum() > 1 else 0.0
    return {
        'tracking_error_before_m': mean(distances[before]),
        'tracking_error_after_m': mean(distances[after]),
        'speed_along_path_before_mps': _rate(times[before], along[before]),
        'speed_along_path_after_mps': _rate(times[after], along[after]),
        'progress_after_m': float(along[after][-1] - along[after][0]) if duration_after else 0.0,
        'model_error_before': mean(error_before), 'model_error_after': mean(error_after),
        'conditions': [label for _, _, label in seen.terrain],
        'cpu_percent': graph_run.cpu_percent,
        '_times': times, '_distances': distances, '_points': np.array(points),
        '_reference': tracker.path.points}


def forward_entry(robot):
    """Return the state entry whose rate is the robot's progress (its forward_velocity cost)."""
    from meta_mpc_ros.ros.mppi_controller_node import default_cost_terms
    from meta_mpc_ros.pipeline.config import load_robot_config
    for term in default_cost_terms(robot.name, load_robot_config(robot.name)):
        if term['name'] == 'forward_velocity':
            return term['position']
    raise ValueError(f'robot {robot.name!r} follows no path and its cost has no '
                     'forward_velocity term: the demo has nothing to measure')


def _bag_states_and_errors(graph_run, duration, names):
    """Return ({stamp: [entries]}, {window stamp: newest-transition error}) from the bag."""
    from meta_mpc_ros.data.bag_reader import load_messages
    from meta_mpc_ros.ros.conversions import stamp_to_seconds
    from meta_mpc_ros.ros.diagnostics import read_status
    messages, problems = load_messages([str(graph_run.graph.bag_dir)],
                                       topics=['/meta_mpc/state', '/diagnostics'])
    if problems:
        raise RuntimeError(f'the bag of the run is damaged: {problems}')
    states, errors = {}, {}
    for entry in messages:
        if entry.topic == '/meta_mpc/state':
            stamp = stamp_to_seconds(entry.message.header.stamp)
            order = list(entry.message.name)
            if stamp < duration:
                states.setdefault(round(stamp, 3), [entry.message.position[order.index(name)]
                                                    for name in names])
            continue
        for status in map(read_status, entry.message.status):
            values = status['values']
            if 'adaptation' in status['name'] and values.get('newest_transition_loss') \
                    not in (None, 'nan') and float(values['window_stamp_s']) < duration:
                errors[float(values['window_stamp_s'])] = float(
                    values['newest_transition_loss'])
    return states, errors


def analyse_forward(graph_run, switch_at, duration, entry):
    """
    Return forward speed and model error of one run of a robot that runs forward.

    Forward speed is the rate of the cost's progress entry (a legged robot's centre of
    mass x), from SETTLE_S after the start to the switch, and from SETTLE_S after the
    switch to the end; read from the run's bag, as `analyse`.
    """
    states, errors = _bag_states_and_errors(graph_run, duration, [entry])
    times = np.array(sorted(states))
    x = np.array([states[t][0] for t in times])
    before = (times >= SETTLE_S) & (times < switch_at)
    after = times >= switch_at + SETTLE_S
    error_before = [e for stamp, e in errors.items() if stamp < switch_at]
    error_after = [e for stamp, e in errors.items() if stamp >= switch_at]

    def mean(values):
        return float(np.mean(values)) if len(values) else None

    return {'forward_speed_before_mps': _rate(times[before], x[before]),
            'forward_speed_after_mps': _rate(times[after], x[after]),
            'distance_m': float(x[-1] - x[0]) if len(x) > 1 else 0.0,
            'model_error_before': mean(error_before), 'model_error_after': mean(error_after),
            'conditions': [label for _, _, label in graph_run.seen.terrain],
            'cpu_percent': graph_run.cpu_percent, '_times': times, '_x': x}


def format_forward_table(results, condition):
    """Return the demo's Markdown table for a robot that runs forward."""
    def cell(value, digits=3):
        return '-' if value is None else f'{value:.{digits}f}'

    lines = [f'Running forward before and after the switch to `{condition}`',
             '(forward speed: of the centre of mass, from 0.5 s after the start and after the '
             'switch; model error: one-step normalised MSE of the model in use on each newest '
             'transition, out of sample)', '',
             '| adapter | forward speed before (m/s) | after (m/s) | model error before | '
             'after |', '|---|---|---|---|---|']
    for adapter, result in results.items():
        lines.append(f'| {adapter} | {cell(result["forward_speed_before_mps"])} | '
                     f'{cell(result["forward_speed_after_mps"])} | '
                     f'{cell(result["model_error_before"])} | '
                     f'{cell(result["model_error_after"])} |')
    baseline = results.get(BASELINE_ADAPTER, {}).get('forward_speed_after_mps')
    if baseline is not None:
        faster = [adapter for adapter, result in results.items() if adapter != BASELINE_ADAPTER
                  and (result['forward_speed_after_mps'] or -np.inf) > baseline]
        slower = [adapter for adapter in results if adapter not in faster + [BASELINE_ADAPTER]]
        lines.append('')
        if faster:
            lines.append(f'After the switch these run faster than MB: {", ".join(faster)}.')
        if slower:
            lines.append(f'After the switch these run no faster than MB (adaptation did not '
                         f'help in this run): {", ".join(slower)}.')
    mb_error = results.get(BASELINE_ADAPTER, {}).get('model_error_after')
    if mb_error is not None:
        lower = [adapter for adapter, result in results.items() if adapter != BASELINE_ADAPTER
                 and result['model_error_after'] is not None
                 and result['model_error_after'] < mb_error]
        lines.append(f'After the switch these predict better than MB: '
                     f'{", ".join(lower) or "none"}.')
    return '\n'.join(lines)


def plot_forward(results, args, path):
    """Plot each run's distance run and the model error over time."""
    from meta_mpc_ros.pipeline.plots import figure_axes, save_figure
    figure, (left, right) = figure_axes(1, 2, figsize=(13, 5))
    for index, (adapter, result) in enumerate(results.items()):
        left.plot(result['_times'], result['_x'] - result['_x'][0], f'C{index}', label=adapter)
        right.bar(index, result['forward_speed_after_mps'] or 0.0, color=f'C{index}',
                  label=adapter)
    left.axvline(args.switch_at, color='C3', ls=':', label=f'switch to {args.condition}')
    left.set_xlabel('sim time (s)')
    left.set_ylabel('distance run (m)')
    left.legend(fontsize=8)
    right.set_xticks(range(len(results)), list(results))
    right.set_ylabel('forward speed after the switch (m/s)')
    start = robot_description(args.robot).sim.default_condition
    figure.suptitle(f'meta-mpc demo: {args.robot}, running forward, {start} -> '
                    f'{args.condition}')
    save_figure(figure, path, dpi=100)


def _rate(times, along):
    """Return metres along the path per second over a stretch."""
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return float((along[-1] - along[0]) / (times[-1] - times[0]))


def format_table(results, condition):
    """Return the demo's Markdown table."""
    def cell(value, digits=3):
        return '-' if value is None else f'{value:.{digits}f}'

    lines = [f'Tracking the figure-8 before and after the switch to `{condition}`',
             '(tracking error: mean distance to the path; model error: one-step normalised '
             'MSE of the model in use on each newest transition, out of sample)', '',
             '| adapter | tracking error before (m) | after (m) | speed along path before '
             '(m/s) | after (m/s) | model error before | after |',
             '|---|---|---|---|---|---|---|']
    for adapter, result in results.items():
        lines.append(
            f'| {adapter} | {cell(result["tracking_error_before_m"])} | '
            f'{cell(result["tracking_error_after_m"])} | '
            f'{cell(result["speed_along_path_before_mps"])} | '
            f'{cell(result["speed_along_path_after_mps"])} | '
            f'{cell(result["model_error_before"])} | {cell(result["model_error_after"])} |')
    baseline = results.get(BASELINE_ADAPTER, {}).get('tracking_error_after_m')
    if baseline is not None:
        compared = {adapter: result['tracking_error_after_m'] < baseline
                    for adapter, result in results.items()
                    if adapter != BASELINE_ADAPTER
                    and result['tracking_error_after_m'] is not None}
        closer = [adapter for adapter, better in compared.items() if better]
        farther = [adapter for adapter, better in compared.items() if not better]
        lines.append('')
        if closer:
            lines.append(f'After the switch these track closer than MB: {", ".join(closer)}.')
        if farther:
            lines.append(f'After the switch these track no closer than MB (adaptation did '
                         f'not help tracking in this run): {", ".join(farther)}.')
    return '\n'.join(lines)


def plot(results, args, path):
    """Plot both runs' paths and tracking error over time."""
    from meta_mpc_ros.pipeline.plots import figure_axes, save_figure
    figure, (left, right) = figure_axes(1, 2, figsize=(13, 5))
    for index, (adapter, result) in enumerate(results.items()):
        if index == 0:
            reference = result['_reference']
            left.plot(reference[:, 0], reference[:, 1], 'k--', lw=1, label='reference')
        points = result['_points']
        left.plot(points[:, 0], points[:, 1], f'C{index}', lw=1.2, label=adapter)
        right.plot(result['_times'], result['_distances'], f'C{index}', label=adapter)
    right.axvline(args.switch_at, color='C3', ls=':', label=f'switch to {args.condition}')
    left.set_aspect('equal')
    left.set_xlabel('x (m)')
    left.set_ylabel('y (m)')
    left.legend(fontsize=8)
    right.set_xlabel('sim time (s)')
    right.set_ylabel('distance to path (m)')
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    start = robot_description(args.robot).sim.default_condition
    figure.suptitle(f'meta-mpc demo: {args.robot}, {args.task}, {start} -> {args.condition}')
    save_figure(figure, path, dpi=100)
