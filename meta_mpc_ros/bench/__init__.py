"""`meta-mpc bench`: benchmarks that print tables (speed is measured here, not in tests)."""

import importlib

# name -> (module, one-line description)
BENCHMARKS = {
    'core': ('meta_mpc_ros.bench.core_speed', 'planner, GrBAL adaptation and training speed'),
    'sim': ('meta_mpc_ros.bench.sim', 'simulation steps per second for each robot'),
    'ros': ('meta_mpc_ros.bench.ros_graph', 'node graph latency /odom -> /cmd, control rate, '
            'CPU per node'),
    'endurance': ('meta_mpc_ros.bench.endurance', 'the recording graph for N minutes: RSS '
                  'per node, bag growth, zero-command episodes'),
    'all': ('meta_mpc_ros.results.run_all', 'every result experiment, then docs/RESULTS.md'),
}


def add_parser(subparsers):
    """Register `meta-mpc bench <name>` subcommands."""
    parser = subparsers.add_parser('bench', help='run a benchmark and print its table')
    names = parser.add_subparsers(dest='benchmark', metavar='BENCHMARK', required=True)
    for name, (module_name, description) in BENCHMARKS.items():
        sub = names.add_parser(name, help=description)
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            sub.set_defaults(run=_unavailable(name, error))
            continue
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)


def _unavailable(name, error):
    """Return a runner that explains why a benchmark cannot run."""
    def run(args):
        print(f'benchmark {name} is unavailable: {error}')
        return 1
    return run
