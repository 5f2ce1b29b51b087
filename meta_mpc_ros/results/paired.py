"""
Shared pieces of the paired comparisons (objective_comparison, method_comparison).

Both train models from scratch per training seed on the same random-action data of
the millirobot's training world, drive the robot in closed loop with every variant on
the same episode seeds (common random numbers), and judge paired differences pooled
over cells and training seeds with a 95 % Student's t interval:

    below  the interval lies below zero (the first variant costs less);
    above  the interval lies above zero;
    'undecided' when it spans zero, or with fewer than two pairs.
"""

import dataclasses
import pathlib
import time

from meta_mpc_ros.pipeline.collect import collect, CollectRequest
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.pipeline.evaluate import evaluate, EvaluateRequest
from meta_mpc_ros.pipeline.train import train, TrainRequest
from meta_mpc_ros.results.common import mean_ci
import numpy as np
import torch

UNDECIDED = 'undecided'


def paired_verdict(differences, below, above):
    """
    Return (mean, half-width, verdict) of paired differences.

    :param differences: list of floats, one per pair (first variant minus second).
    :param below: the verdict when the 95 % interval lies below zero.
    :param above: the verdict when it lies above zero.
    :return: the half-width is None (and the verdict UNDECIDED) for fewer than 2 pairs.
    """
    mean, half = mean_ci(differences)
    if half is None:
        return mean, None, UNDECIDED
    if mean + half < 0.0:
        return mean, half, below
    if mean - half > 0.0:
        return mean, half, above
    return mean, half, UNDECIDED


def paired_comparison(first, second, below, above):
    """
    Pair two variants' values by key and judge first minus second.

    :param first: dict key -> value (key: training seed, cell, episode seed).
    :param second: the same for the other variant.
    :return: dict of pairs, both means, difference, half_width and verdict; None when
        no key is shared.
    """
    keys = sorted(set(first) & set(second))
    if not keys:
        return None
    mean, half, verdict = paired_verdict([first[k] - second[k] for k in keys], below, above)
    return {'pairs': len(keys), 'first': float(np.mean([first[k] for k in keys])),
            'second': float(np.mean([second[k] for k in keys])), 'difference': mean,
            'half_width': half, 'verdict': verdict}


def begin(plans, budget, out, seed):
    """
    Start a comparison: its plan, output folder, clock and training data.

    The data are the plan's `episodes` random-action episodes of the millirobot's
    training world, drawn from `seed`.

    :return: (plan dict, out Path (created), start time (perf_counter),
        pipeline.config.RobotConfig, TrajectoryDataset).
    """
    plan = plans[budget]
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    robot_config = load_robot_config('millirobot')
    dataset = collect(CollectRequest(robot_config=robot_config, episodes=plan['episodes'],
                                     seed=seed, workers=1))
    return plan, out, start, robot_config, dataset


def seeded_config(base, hidden, iterations, train_seed, **training):
    """Return `base` with the model size, iteration count and training seed of a plan."""
    return dataclasses.replace(
        base, model=dataclasses.replace(base.model, hidden_sizes=tuple(hidden)),
        training=dataclasses.replace(base.training, seed=train_seed, iterations=iterations,
                                     patience=0, **training))


def train_seeded(config, method, dataset, path, warm_start=None):
    """
    Train one checkpoint from scratch (or from `warm_start`) with the config's seed.

    :return: the training's wall time (s).
    """
    torch.manual_seed(config.training.seed)
    start = time.perf_counter()
    train(TrainRequest(robot_config=config, method=method, dataset=dataset, out=path,
                       warm_start=warm_start, progress=False))
    return time.perf_counter() - start


def closed_loop(config, path, adapter, condition, episodes, seed, steps, task=None,
                threads=1):
    """
    Run `episodes` closed-loop episodes (episode seeds drawn from `seed`).

    :return: (list of per-episode detail dicts, list of Episode), as pipeline.evaluate.
    """
    report, runs = evaluate(EvaluateRequest(
        robot_config=config, checkpoint_path=path, adapter=adapter, condition=condition,
        episodes=episodes, seed=seed, steps=steps, task=task, threads=threads))
    return report['details'], runs


def interval_text(row):
    """Return '+d +- h' for a comparison row ('n/a' for a missing half-width)."""
    half = 'n/a' if row['half_width'] is None else f'{row["half_width"]:.3g}'
    return f'{row["difference"]:+.3g} +- {half}'


def command_line(argv, description, budgets, out, run, report, threads=None):
    """
    Run a comparison's command line: --budget, --out, --seed, --report, --from-json.

    :param run: (budget, out, seed) -> result dict.
    :param report: result -> Markdown text, printed (and written to --report).
    :param threads: torch threads for the run (None: torch's default).
    """
    import argparse
    import json
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--budget', choices=tuple(budgets), default='full')
    parser.add_argument('--out', default=out)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--report', help='also write the Markdown section here')
    parser.add_argument('--from-json', help="render an earlier run's JSON instead")
    args = parser.parse_args(argv)
    if args.from_json:
        result = json.loads(pathlib.Path(args.from_json).read_text())
    else:
        if threads:
            torch.set_num_threads(threads)
        result = run(args.budget, args.out, args.seed)
    text = report(result)
    if args.report:
        pathlib.Path(args.report).write_text(text)
    print(text)
