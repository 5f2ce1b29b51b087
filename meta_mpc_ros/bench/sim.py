"""
`meta-mpc bench sim`: simulation speed of every robot in the registry, on one core.

For each environment it steps seeded uniform random actions for a fixed wall time and
prints control steps per second, physics steps per second (control steps times the
physics steps in one control period) and the real-time factor (simulated seconds per
wall second). MuJoCo steps on one thread; the process is also pinned to one CPU where
the platform allows. CPU time is reported beside wall time, since a shared machine's
wall clock counts other people's work too.
"""

import os
import time

from meta_mpc_ros.bench.report import print_table
import numpy as np


def add_arguments(parser):
    """Add this benchmark's options to an argparse parser."""
    parser.add_argument('--seconds', type=float, default=3.0,
                        help='wall time to step each environment, s')
    parser.add_argument('--envs', default='',
                        help='comma-separated environment names (default: all registered)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random actions')
    parser.add_argument('--json', default='', help='also write the rows to this JSON file')


def measure(env, seconds, rng):
    """
    Step an environment with random actions for about `seconds` of wall time.

    :param env: gymnasium.Env with `control_dt` and `model` (an MjModel).
    :param seconds: wall time budget, s.
    :param rng: numpy.random.Generator for the actions.
    :return: dict of rates for the table.
    """
    low, high = env.action_space.low, env.action_space.high
    env.reset(seed=int(rng.integers(2 ** 31)))
    steps, wall, cpu = 0, 0.0, 0.0
    while wall < seconds:
        action = rng.uniform(low, high)
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        _, _, terminated, truncated, _ = env.step(action)
        wall += time.perf_counter() - wall_start
        cpu += time.process_time() - cpu_start
        steps += 1
        if terminated or truncated:
            env.reset(seed=int(rng.integers(2 ** 31)))
    control_dt = float(env.control_dt)
    substeps = int(round(control_dt / float(env.model.opt.timestep)))
    simulated = steps * control_dt
    return {
        'physics dt (ms)': 1e3 * float(env.model.opt.timestep),
        'control dt (ms)': 1e3 * control_dt,
        'control steps/s': steps / wall,
        'physics steps/s': steps * substeps / wall,
        'real-time factor': simulated / wall,
        'RTF (CPU time)': simulated / max(cpu, 1e-9),
    }


def run(args):
    """Print the table; return the exit status."""
    if not args.seconds > 0.0:
        print('--seconds must be positive')
        return 2
    pinned = hasattr(os, 'sched_setaffinity')
    if pinned:
        cpus = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(cpus)})
    try:
        return _run(args)
    finally:
        if pinned:
            os.sched_setaffinity(0, cpus)


def _run(args):
    """Measure every environment and print the table."""
    from meta_mpc_ros.sim.registry import environment_names, make_env
    names = [n for n in args.envs.split(',') if n] or list(environment_names())
    rng = np.random.default_rng(args.seed)
    rows = []
    for name in names:
        env = make_env(name)
        try:
            rows.append(dict(measure(env, args.seconds, rng), robot=name))
        finally:
            env.close()
    columns = ['robot', 'physics dt (ms)', 'control dt (ms)', 'control steps/s',
               'physics steps/s', 'real-time factor', 'RTF (CPU time)']
    print_table(f'Simulation speed, one core, random actions, {args.seconds:g} s each',
                rows, columns)
    if getattr(args, 'json', ''):
        import json
        with open(args.json, 'w') as stream:
            json.dump(rows, stream, indent=1)
    return 0
