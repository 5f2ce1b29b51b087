"""
Closed-loop cells that re-run bit for bit from their JSON alone.

Each episode row of the closed-loop grid (results/closed_loop.py) carries a `run`: the
arguments of its pipeline.evaluate.EvaluateRequest (adapter, checkpoint, task,
condition, switch, seed, steps, device, threads), the checkpoint's digest, the reset
seed the request draws (`episode_seed`), the git commit of the code that ran it, and
the digest of its `settings`: what the episode reads from the robot config (planner,
cost, evaluation, each adapter's own settings, M and K), kept once per file under
`settings[digest]` (records from before adapters and planners owned their settings
spell MB+DE's as `evaluation: de_steps, de_learning_rate` and MPPI's as `controller:
temperature, noise_sigma, ...`, and still re-run). The worker
builds its robot config from those settings, so what is recorded is what ran.
`rerun(data, row)` runs the row's episode again and returns its new row; the same code
gives the same cost, to the bit (test/results/test_reproduce_cell.py).

`python -m meta_mpc_ros.results.cells` writes docs/results/reproduce_cell.json: the
closed-loop grid at its smoke budget (10 episodes of 20 steps; 42 s with --workers 2 on
this 2-core machine under load), the committed cells that test re-runs.

To the bit holds for one set of kernels: the CPU's vector instructions (torch's CPU
capability: AVX2, AVX512...) pick oneDNN's matmul kernels, and a CPU without native
bf16 plans a bfloat16 setting in float32 (core.predictor.planning_dtype), so the file
names the kernels it ran on (`kernels`) and keeps, under `reproductions`, the test
row's numbers on other kernels: `python -m meta_mpc_ros.results.cells --add-kernels`
adds this machine's without touching the grid.
"""

import argparse
from dataclasses import asdict, replace
import hashlib
import json
import pathlib
import subprocess

from meta_mpc_ros.core.controller import controller_from_mapping
from meta_mpc_ros.core.meta_training import TrainingConfig
from meta_mpc_ros.core.settings import settings_from_mapping
from meta_mpc_ros.paths import share_path
from meta_mpc_ros.pipeline.config import (adapters_section, EvaluationSettings,
                                          flat_adapter_settings, RobotConfig,
                                          trained_adapter_settings)

NAME = 'reproduce_cell'
# Keys of a row's `run` that are not EvaluateRequest arguments.
RECORD_ONLY = ('checkpoint_digest', 'episode_seed', 'settings_digest', 'commit')


def episode_settings(config):
    """
    Return the JSON-ready part of a RobotConfig that a closed-loop episode reads.

    :param config: pipeline.config.RobotConfig.
    :return: dict of robot, controller, evaluation, adapters (name -> own settings),
        cost (term dicts), past_steps (M) and future_steps (K).
    """
    settings = {'robot': config.robot, 'controller': asdict(config.controller),
                'evaluation': asdict(config.evaluation),
                'adapters': {name: asdict(own) for name, own in config.adapters.items()},
                'cost': [dict(term) for term in config.cost],
                'past_steps': config.training.past_steps,
                'future_steps': config.training.future_steps}
    return json.loads(json.dumps(settings))


def settings_digest(settings):
    """Return the sha256 (16 hex digits) of episode settings, as canonical JSON."""
    text = json.dumps(settings, sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def robot_config(settings):
    """Return the RobotConfig that `episode_settings` recorded (the rest at defaults)."""
    training = replace(TrainingConfig(), past_steps=settings['past_steps'],
                       future_steps=settings['future_steps'])
    evaluation, flat = flat_adapter_settings(settings['evaluation'])
    adapters = adapters_section(settings.get('adapters'), 'settings: adapters', flat)
    return RobotConfig(robot=settings['robot'], controller=controller_from_mapping(
                           settings['controller'], 'settings: controller'),
                       evaluation=settings_from_mapping(EvaluationSettings, evaluation,
                                                        'settings: evaluation'),
                       training=trained_adapter_settings(training, adapters),
                       adapters=adapters,
                       cost=tuple(dict(term) for term in settings['cost']))


def code_version():
    """
    Return the git commit of the code that runs, or None outside a git checkout.

    A checkout with uncommitted changes to tracked files gives '<commit>+dirty'.
    """
    source = pathlib.Path(__file__).resolve().parents[2]

    def git(*arguments):
        return subprocess.run(['git', '-C', str(source), *arguments], capture_output=True,
                              text=True, timeout=30, check=True).stdout.strip()
    try:
        commit = git('rev-parse', 'HEAD')
        dirty = git('status', '--porcelain', '--untracked-files=no')
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ('+dirty' if dirty else '')


def portable_path(path):
    """Return a checkpoint path relative to the share directory when it lies inside it."""
    path = pathlib.Path(path).resolve()
    share = share_path().resolve()
    return str(path.relative_to(share)) if path.is_relative_to(share) else str(path)


def _checkpoint(run):
    """Return the recorded checkpoint's path (one relative to the share directory)."""
    path = share_path() / run['checkpoint_path']
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint {path} (digest {run["checkpoint_digest"]}) is '
                                'missing')
    return str(path)


def rerun(data, row):
    """
    Run a recorded closed-loop row's episode again; return its new row.

    :param data: the grid's JSON (its `settings` by digest).
    :param row: one of data['episodes'], with its `run`.
    :raises ValueError: when the checkpoint's digest or the reset seed differs from the
        recorded one (the cost could not be the same).
    """
    from meta_mpc_ros.results.closed_loop import episode
    run = dict(row['run'], checkpoint_path=_checkpoint(row['run']))
    new = episode(dict(run, method=row['method']), data['settings'][run['settings_digest']])
    for key in ('checkpoint_digest', 'episode_seed', 'settings_digest'):
        if new['run'][key] != run[key]:
            raise ValueError(f'{key} is {new["run"][key]}, the row recorded {run[key]}')
    return new


# The kernels of files written before they were recorded (an AVX512 CPU with avx512_bf16).
LEGACY_KERNELS = 'AVX512, planning bfloat16'


def kernels(settings):
    """Return what, beside the code, decides an episode's numbers on this machine."""
    import torch
    from meta_mpc_ros.core.predictor import planning_dtype
    dtype = planning_dtype(settings['controller']['dtype'])
    return f'{torch.backends.cpu.get_cpu_capability()}, planning {str(dtype)[6:]}'


def test_row(data):
    """Return the row the reproduction test re-runs: the fewest steps, MB first."""
    return min(data['episodes'], key=lambda row: (row['steps'], row['method'] != 'MB'))


def expected(data, row):
    """
    Return the (cost, error_before) the row must give on this machine's kernels.

    :return: None when the file holds no numbers for these kernels.
    """
    here = kernels(data['settings'][row['run']['settings_digest']])
    if here == data.get('kernels', LEGACY_KERNELS):
        return row['cost'], row['error_before']
    known = data.get('reproductions', {}).get(here)
    return (known['cost'], known['error_before']) if known else None


def add_kernels(path):
    """Re-run the test row on this machine; record its numbers under its kernels."""
    data = json.loads(pathlib.Path(path).read_text())
    row = test_row(data)
    here = kernels(data['settings'][row['run']['settings_digest']])
    new = rerun(data, row)
    data.setdefault('kernels', LEGACY_KERNELS)
    data.setdefault('reproductions', {})[here] = {
        'method': row['method'], 'task': row['task'], 'condition': row['condition'],
        'seed': row['seed'], 'cost': new['cost'], 'error_before': new['error_before'],
        'commit': code_version()}
    pathlib.Path(path).write_text(json.dumps(data, indent=1, default=float))
    return here, new


def main(argv=None):
    """Command line: write <out>/results/reproduce_cell.json from the smoke grid."""
    from meta_mpc_ros.results import closed_loop
    from meta_mpc_ros.results.common import write_json
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--out', default='docs', help='docs folder to write into')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--workers', type=int, default=0,
                        help='episode processes, each on one torch thread (0: one per core)')
    parser.add_argument('--add-kernels', action='store_true',
                        help="re-run only the test's row and add its numbers on this "
                             "machine's kernels to the file")
    args = parser.parse_args(argv)
    if args.add_kernels:
        path = pathlib.Path(args.out) / 'results' / f'{NAME}.json'
        here, new = add_kernels(path)
        print(f'{path}: {new["method"]} {new["task"]} {new["condition"]} seed {new["seed"]} '
              f'costs {new["cost"]!r} on {here}')
        return
    data = closed_loop.run_grid('smoke', args.seed, workers=args.workers)
    data['kernels'] = kernels(next(iter(data['settings'].values())))
    print(f'wrote {write_json(NAME, data, args.out)}')


if __name__ == '__main__':
    main()
