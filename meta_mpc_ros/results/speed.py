"""
Section 5 of the results: speed, side by side in one run.

Runs the three benchmarks with JSON output and gathers them: `bench core` (our MPPI
against its floor, pytorch_mppi and mbrl-lib on the paper's 3 x 512 model and a
smaller one, fp32 and bf16, 2 CPU threads; GrBAL adaptation; training throughput),
`bench sim` (simulation steps per second) and `bench ros` (latency /odom -> /cmd,
control rate, CPU per node, with the shipped GrBAL model). A GPU table is added when
docs/results/speed_gpu.json exists (written by `meta-mpc bench core --device cuda
--json ...` on a machine with one).
"""

import argparse
import json
import pathlib
import tempfile

from meta_mpc_ros.results.common import plan_of, Stopwatch, write_json

BUDGET = {'smoke': {'core': ['--repeats', '3', '--models', '64,64', '--sizes', '100x5'],
                    'sim': ['--seconds', '0.3'], 'ros_seconds': 0},
          'full': {'core': ['--repeats', '20'], 'sim': ['--seconds', '3'], 'ros_seconds': 30}}


def _bench(module, options, path):
    """Run one benchmark module's CLI with --json; return the parsed JSON."""
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    args = parser.parse_args(list(options) + ['--json', str(path)])
    module.run(args)
    return json.loads(pathlib.Path(path).read_text())


def run(budget='full', seed=0, out='docs'):
    """Run the benchmarks and write speed.json."""
    from meta_mpc_ros.bench import core_speed, ros_graph, sim
    plan = plan_of(BUDGET, budget)
    data = {'budget': budget, 'seed': seed}
    with tempfile.TemporaryDirectory() as folder, Stopwatch() as watch:
        folder = pathlib.Path(folder)
        data['core'] = _bench(core_speed, plan['core'], folder / 'core.json')
        data['sim'] = _bench(sim, plan['sim'] + ['--seed', str(seed)], folder / 'sim.json')
        if plan['ros_seconds']:
            data['ros'] = _bench(ros_graph, ['--seconds', str(plan['ros_seconds'])],
                                 folder / 'ros.json')
    data['wall_seconds'] = watch.seconds
    gpu = pathlib.Path(out) / 'results' / 'speed_gpu.json'
    data['gpu'] = json.loads(gpu.read_text()) if gpu.is_file() else None
    write_json('speed', data, out)
    return data
