"""
A real robot's recording: models trained on its first part in time, scored on its last.

The recording is someone else's: a TurtleBot 4 Lite driven by teleop in a corridor
(SOURCE; the repository has no license, so the bag is never committed: give its
directory with --bag). It is read as the `diff_drive` robot's bags are (/odom and
/cmd_vel Twist, robots/diff_drive.py), cut in time: the first 1 - HELD_OUT of its
transitions train every training method (core.objectives.METHODS, the ones the
adapters ship with; continual warm-starts from its source), the last HELD_OUT are
never seen. Every adapter (core.adapters.ADAPTERS) is then stepped over the held-out
part window after window as it runs online (core.session.AdaptationSession: MB+DE and
Continual carry their parameters) and scored on what follows each window:

    one-step   normalised MSE of the K one-step predictions (the meta-objective);
    horizon    the open-loop rollout over the planner's H executed actions, as
               core.session.rollout_errors scores it in closed-loop runs: position
               (m) and heading (rad) after H steps.

How much data the models need: the same, trained on the last 25 / 50 / 100 % of the
training part (the part nearest the held-out one). Run

    python -m meta_mpc_ros.results.real_recording --bag PATH [--budget full] [--out docs]

which writes docs/results/real_recording.json; `meta-mpc bench all --report-only`
renders its RESULTS section.
"""

import argparse
import pathlib
import sys
import tempfile
import time

from meta_mpc_ros.core.adapters import Adapted, ADAPTERS, Window
from meta_mpc_ros.core.dataset import Trajectory, TrajectoryDataset
from meta_mpc_ros.core.objectives import METHODS
from meta_mpc_ros.core.session import rollout_errors
from meta_mpc_ros.data.bag_dataset import dataset_from_bags
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.results import paired
from meta_mpc_ros.results.common import plan_of, write_json
from meta_mpc_ros.results.method_comparison import training_methods
from meta_mpc_ros.results.model_error import sessions
from meta_mpc_ros.robots.diff_drive import DIFF_DRIVE
import numpy as np
import torch

SOURCE = {'repository': 'github:comprobo22/robot_localization',
          'path': 'bags/macfirst_floor_take_2',
          'commit': '71f7d35f4c8c085fb9bfcff2af0f65f965a9e4d2',
          'robot': 'TurtleBot 4 Lite (iRobot Create 3 base), ROS 2 Galactic, sqlite3',
          'license': 'none stated: the bag is read from a path, never committed'}
TOPICS = {'odom': '/odom', 'cmd': '/cmd_vel'}
HELD_OUT = 0.3
# What the recording holds and does not: said in the section, whatever the numbers.
NOT_IN_RECORDING = (
    'no change of world: one floor, one payload, one robot, so nothing for adaptation to '
    'track but the model error itself',
    'teleop only: forward speed 0 or 0.5 m/s (clipped to 0.31) and turn rate -1, 0 or '
    '+1 rad/s, keyboard steps, never reverse; the held-out part holds no command the '
    'training part lacks',
    'one floor of one building, about 46 s: about 10 s standing still at the start and '
    '4 s at the end',
    'odometry only (the wheel encoders and IMU fused by the robot), no ground truth: the '
    'models learn and are scored on what /odom says',
)
PLANS = {
    'smoke': {'hidden': (16, 16), 'iterations': 20, 'train_seeds': (0,),
              'fractions': (1.0,)},
    'full': {'hidden': (128, 128), 'iterations': 600, 'train_seeds': (0, 1),
             'fractions': (0.25, 0.5, 1.0)},
}


def split_in_time(dataset, held_out=HELD_OUT):
    """
    Cut a dataset's trajectories, in time order, into a training and a held-out part.

    :return: (training trajectories, held-out trajectories): the first 1 - held_out of
        the transitions, then the rest (a trajectory that spans the cut is cut).
    """
    cut = int(round(dataset.steps * (1.0 - held_out)))
    train, test, seen = [], [], 0
    for run in dataset.trajectories:
        steps = len(run.actions)
        if seen + steps <= cut:
            train.append(run)
        elif seen >= cut:
            test.append(run)
        else:
            k = cut - seen
            train.append(Trajectory(run.states[:k + 1], run.actions[:k], run.task))
            test.append(Trajectory(run.states[k:], run.actions[k:], run.task))
        seen += steps
    return train, test


def latest(trajectories, fraction):
    """Return the last `fraction` of the transitions of trajectories (in time order)."""
    keep = int(round(sum(len(run.actions) for run in trajectories) * fraction))
    kept = []
    for run in reversed(trajectories):
        if keep <= 0:
            break
        take = min(keep, len(run.actions))
        kept.insert(0, Trajectory(run.states[-take - 1:], run.actions[-take:], run.task))
        keep -= take
    return kept


def score_held_out(session, trajectories, past_steps, future_steps, horizon, names):
    """
    Step a session over every window of the held-out trajectories and score each.

    :return: list of dicts per window: one-step normalised MSE before and after
        adapting, the open-loop rollout's scores (core.session.rollout_errors) over the
        `horizon` executed actions after the window, and `diverged` (1 where the adapted
        model was not finite and theta* was scored instead, as the graph falls back).
    """
    rows = []
    for run in trajectories:
        states, actions = torch.as_tensor(run.states), torch.as_tensor(run.actions)
        session.reset()
        ahead = max(future_steps, horizon)
        for start in range(len(actions) - past_steps - ahead + 1):
            middle = start + past_steps
            try:
                adapted = session.step(Window(states[start:middle + 1], actions[start:middle]))
                diverged = 0.0
            except ValueError:      # not finite: the session starts over, the robot plans
                adapted = Adapted(session.meta_params, session.null_context())   # with theta*
                diverged = 1.0
            before, after = session.errors(adapted, states[middle:middle + future_steps + 1],
                                           actions[middle:middle + future_steps])
            scores = rollout_errors(session.model, adapted,
                                    states[middle:middle + horizon + 1],
                                    actions[middle:middle + horizon], names)
            rows.append(dict(scores, one_step_before=before, one_step_after=after,
                             diverged=diverged))
    return rows


def per_window(windows):
    """Return metric -> its values over the windows (4 significant digits), in order."""
    return {key: [float(f'{window[key]:.4g}') for window in windows] for key in windows[0]}


def recording_summary(dataset, train, test, control_dt):
    """Return what the recording holds, as the section states it."""
    actions = np.concatenate([run.actions for run in dataset.trajectories])
    return {'transitions': dataset.steps, 'seconds': dataset.steps * control_dt,
            'control_dt': control_dt, 'trajectories': len(dataset.trajectories),
            'train_transitions': sum(len(run.actions) for run in train),
            'held_out_transitions': sum(len(run.actions) for run in test),
            'still_share': float(np.mean(np.abs(actions).max(axis=1) < 1e-6)),
            'dropped_messages': dataset.metadata.get('dropped_messages', 0)}


def run(bag, budget='full', out='docs', seed=0):
    """Train, score and write docs/results/real_recording.json; return its dict."""
    plan = plan_of(PLANS, budget)
    start = time.perf_counter()
    torch.set_num_threads(1)
    base = load_robot_config(DIFF_DRIVE.name)
    training = base.training
    dataset = dataset_from_bags([bag], DIFF_DRIVE.control_dt, training.past_steps,
                                robot=DIFF_DRIVE.name, topics=TOPICS)
    train, test = split_in_time(dataset)
    horizon = base.controller.horizon
    rows, trainings = [], []
    with tempfile.TemporaryDirectory() as folder:
        for train_seed in plan['train_seeds']:
            for fraction in plan['fractions']:
                part = TrajectoryDataset(latest(train, fraction), dict(dataset.metadata))
                paths = {}
                for method in training_methods():
                    source = METHODS[method].warm_start
                    iterations = plan['iterations'] // (2 if source else 1)
                    config = paired.seeded_config(base, plan['hidden'], iterations,
                                                  train_seed + seed)
                    paths[method] = pathlib.Path(folder) / f'{method}_{train_seed}_{fraction}.pt'
                    seconds = paired.train_seeded(config, method, part, paths[method],
                                                  paths.get(source))
                    trainings.append({'train_seed': train_seed, 'fraction': fraction,
                                      'method': method, 'iterations': iterations,
                                      'seconds': seconds, 'transitions': part.steps})
                for label, session in sessions(paths, base).items():
                    windows = score_held_out(session, test, training.past_steps,
                                             training.future_steps, horizon,
                                             DIFF_DRIVE.state.names)
                    rows.append({'train_seed': train_seed, 'fraction': fraction,
                                 'method': label, 'transitions': part.steps,
                                 'windows': len(windows), **per_window(windows)})
                print(f'seed {train_seed}, {fraction:.0%} of the training part: done',
                      flush=True)
    result = {'source': SOURCE, 'budget': budget, 'seed': seed,
              'command': f'python -m meta_mpc_ros.results.real_recording --bag '
                         f'<{SOURCE["path"]}> --budget {budget}',
              'plan': {key: list(value) if isinstance(value, tuple) else value
                       for key, value in plan.items()},
              'model': {'past_steps': training.past_steps,
                        'future_steps': training.future_steps, 'horizon': horizon,
                        'held_out': HELD_OUT},
              'adapters': {spec.label: name for name, spec in ADAPTERS.items()},
              'recording': recording_summary(dataset, train, test, DIFF_DRIVE.control_dt),
              'not_in_recording': list(NOT_IN_RECORDING), 'rows': rows,
              'trainings': trainings, 'wall_seconds': time.perf_counter() - start}
    write_json('real_recording', result, out)
    return result


def main(argv=None):
    """Parse the command line and run; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--bag', required=True, help=f'the bag directory ({SOURCE["path"]} '
                        f'of {SOURCE["repository"]} at {SOURCE["commit"][:7]})')
    parser.add_argument('--budget', default='full', choices=tuple(PLANS))
    parser.add_argument('--out', default='docs', help='writes OUT/results/real_recording.json')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    try:
        result = run(args.bag, args.budget, args.out, args.seed)
    except (OSError, ValueError) as error:      # a wrong path or a bag it cannot read
        print(f'real_recording: error: {error}', file=sys.stderr)
        return 2
    print(f'wrote {args.out}/results/real_recording.json in '
          f'{result["wall_seconds"] / 60:.1f} min')
    return 0


if __name__ == '__main__':
    sys.exit(main())
