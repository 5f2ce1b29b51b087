"""The `meta-mpc` command: one entry point with a subcommand per job."""

import argparse
import importlib
import sys

# Subcommand modules; each has add_parser(subparsers) and sets `run` on its parser.
COMMANDS = (
    'meta_mpc_ros.pipeline.commands',
    'meta_mpc_ros.ros.graph.command',
    'meta_mpc_ros.demo',
    'meta_mpc_ros.bench',
)


def build_parser():
    """Return the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog='meta-mpc',
        description='Meta-learned online-adaptive MPPI control (GrBAL, ReBAL) for ROS 2.')
    parser.add_argument('--version', action='store_true', help='print the version and exit')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    for module_name in COMMANDS:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv=None):
    """Run the command line; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from meta_mpc_ros import __version__
        print(__version__)
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except (ValueError, OSError) as error:
        # A user's mistake (a bad file, data or value; CheckpointError and GraphError
        # are ValueErrors): one line and status 2, no traceback.
        reason = ' '.join(str(error).split())
        print(f'meta-mpc {args.command}: error: {reason}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
