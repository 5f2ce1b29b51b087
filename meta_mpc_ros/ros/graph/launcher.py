"""
The embedded launcher behind `meta-mpc launch`: the graph without ros2 launch.

It reads the same description as launch/bringup.launch.py (`meta_mpc_ros.ros.graph`)
and starts every local node as its own process,

    python lib/meta_mpc_ros/<executable> --ros-args -r __node:=<name>
        --params-file config/<executable>.yaml -p name:=value ... -r from:=to ...

with its output in <run dir>/logs/<name>.log. SIGINT and SIGTERM are forwarded to
every node (a second one kills them); nodes still running after `stop_timeout` s are
killed. If a node exits while the graph runs, the others are stopped and the launcher
exits with status 1, naming the node, its exit code and its last log lines.

    meta-mpc launch                                  # default bringup, until Ctrl-C
    meta-mpc launch adapter:=mb record:=false --duration 60
"""

import argparse
import shlex
import signal
import sys
import time

from meta_mpc_ros.ros.graph import build_graph, declared_arguments, GraphError
from meta_mpc_ros.ros.graph.process import describe_exit, GraphProcess, node_command


def supervise(process, duration=None, stop_timeout=10.0, requested=None, out=None, err=None):
    """
    Watch a started GraphProcess until a node dies, a signal arrives or time runs out.

    :param process: started GraphProcess.
    :param duration: stop after this many seconds; None runs until stopped.
    :param stop_timeout: seconds each node gets to exit before SIGKILL.
    :param requested: list that a signal handler appends signal numbers to.
    :return: 0 when stopped on request and every node exited cleanly; 1 otherwise.
    """
    out, err = out or sys.stdout, err or sys.stderr
    requested = requested if requested is not None else []
    deadline = None if duration is None else time.monotonic() + duration
    required = {entry.name: entry.required for entry in process.entries}
    tolerated = set()
    while not requested:
        time.sleep(0.1)
        exits = process.poll()
        for ended in exits:
            if required.get(ended.name, True) or ended.name in tolerated:
                continue
            tolerated.add(ended.name)
            print(f'meta-mpc launch: node {ended.name!r} (not required) exited with '
                  f'{describe_exit(ended.returncode)}; the graph runs on without it. Last '
                  f'lines of {process.log_path(ended.name)}:\n{process.tail(ended.name)}',
                  file=err, flush=True)
        died = next((ended for ended in exits if required.get(ended.name, True)), None)
        if died is not None:
            print(f'meta-mpc launch: node {died.name!r} exited with '
                  f'{describe_exit(died.returncode)} while the graph was running; stopping '
                  f'the others. Last lines of {process.log_path(died.name)}:\n'
                  f'{process.tail(died.name)}', file=err, flush=True)
            process.stop(timeout=stop_timeout)
            return 1
        if deadline is not None and time.monotonic() >= deadline:
            print(f'meta-mpc launch: {duration:g} s elapsed, stopping', file=out, flush=True)
            requested.append(signal.SIGINT)
    sig = requested[0]
    codes = process.stop(sig, timeout=stop_timeout)
    unclean = {name: code for name, code in codes.items()
               if code not in (0, -sig) and name not in tolerated}
    for name in process.killed:
        print(f'meta-mpc launch: {name} did not exit within {stop_timeout:g} s; killed',
              file=err, flush=True)
    for name, code in unclean.items():
        if name not in process.killed:
            print(f'meta-mpc launch: {name} exited with {describe_exit(code)}:\n'
                  f'{process.tail(name)}', file=err, flush=True)
    return 1 if unclean else 0


def parse_assignments(items):
    """
    Parse ros2-launch-style arguments 'name:=value' into a dict.

    :raises GraphError: for an item without ':=' or a name given twice.
    """
    values = {}
    for item in items:
        name, separator, value = item.partition(':=')
        if not separator or not name:
            raise GraphError(f'expected NAME:=VALUE, got {item!r}')
        if name in values:
            raise GraphError(f'{name} is given twice')
        values[name] = value
    return values


def add_arguments(parser):
    """Add the `meta-mpc launch` options to an argparse parser."""
    parser.add_argument('assignments', nargs='*', metavar='NAME:=VALUE',
                        help='launch arguments as ros2 launch takes them (see --show-args)')
    try:
        specs = declared_arguments()
    except (OSError, GraphError):
        specs = ()
    for spec in specs:
        choices = f' ({"|".join(spec.choices)})' if spec.choices else ''
        parser.add_argument('--' + spec.name.replace('_', '-'), dest='arg_' + spec.name,
                            metavar='VALUE', help=f'same as {spec.name}:=VALUE{choices}')
    parser.add_argument('--duration', type=float, metavar='SECONDS',
                        help='stop the graph after this many seconds')
    parser.add_argument('--run-dir', help='directory for logs and the bag '
                        '(default runs/<timestamp>)')
    parser.add_argument('--only', metavar='NODE[,NODE]',
                        help='start only these nodes of the graph')
    parser.add_argument('--echo', action='store_true',
                        help='also print node output, prefixed with the node name')
    parser.add_argument('--stop-timeout', type=float, default=10.0, metavar='SECONDS',
                        help='time each node gets to exit before it is killed')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the node command lines and exit')
    parser.add_argument('--show-args', action='store_true',
                        help='list the launch arguments and exit')
    parser.add_argument('--graph', help='graph YAML to use instead of config/graph.yaml')
    parser.set_defaults(run=run)


def launch_values(args):
    """Return the launch argument values from NAME:=VALUE items and --name flags."""
    values = parse_assignments(args.assignments)
    for key, value in vars(args).items():
        if key.startswith('arg_') and value is not None:
            name = key[len('arg_'):]
            if name in values and values[name] != value:
                raise GraphError(f'{name} is given as {values[name]!r} and as {value!r}')
            values[name] = value
    return values


def run(args):
    """Run `meta-mpc launch` with parsed arguments; return the exit status."""
    try:
        if args.show_args:
            for spec in declared_arguments(args.graph):
                choices = f" (one of: {', '.join(spec.choices)})" if spec.choices else ''
                print(f"'{spec.name}': {spec.description}{choices}\n"
                      f"    (default: '{spec.default_text}')")
            return 0
        if args.duration is not None and not args.duration > 0.0:
            raise GraphError(f'--duration must be positive, got {args.duration}')
        graph = build_graph(launch_values(args), run_dir=args.run_dir, path=args.graph)
        entries = _select(graph, args.only)
    except GraphError as error:
        print(f'meta-mpc launch: error: {error}', file=sys.stderr)
        return 2
    if args.dry_run:
        for entry in entries:
            print(shlex.join(node_command(entry)))
        return 0
    process = GraphProcess(entries, graph.log_dir, echo=args.echo)
    requested = []

    def on_signal(number, frame):
        if requested:
            process.kill_now.set()
        requested.append(number)

    handlers = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        process.start()
        print(f'meta-mpc launch: run directory {graph.run_dir}')
        for name, pid in process.pids.items():
            print(f'  {name} (pid {pid}), log {process.log_path(name)}')
        for entry in graph.skipped:
            reason = (entry.condition.replace('==', 'is not') if '==' in entry.condition
                      else f'{entry.condition} is false')
            print(f'  not started: {entry.name} ({reason})')
        for entry in graph.local_nodes:
            if entry not in entries:
                print(f'  not started: {entry.name} (not in --only)')
        for entry in graph.external_nodes:
            print(f'  not started: {entry.name} (ros2 launch only; not available here)')
        print('Ctrl-C stops the graph.', flush=True)
        status = supervise(process, args.duration, args.stop_timeout, requested)
    except FileNotFoundError as error:
        print(f'meta-mpc launch: error: {error}', file=sys.stderr)
        return 2
    except BaseException:
        process.stop(timeout=args.stop_timeout)
        raise
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    print(f'meta-mpc launch: logs in {graph.log_dir}')
    if any(entry.executable == 'bag_recorder' for entry in entries):
        print(f'meta-mpc launch: bag in {graph.bag_dir}')
    return status


def _select(graph, only):
    """Return the local entries to start, restricted to the --only names."""
    entries = graph.local_nodes
    if not only:
        return entries
    names = [name.strip() for name in only.split(',') if name.strip()]
    known = {entry.name for entry in entries}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise GraphError(f'--only: {unknown} not among the nodes to start {sorted(known)}')
    return tuple(entry for entry in entries if entry.name in names)


def main(argv=None):
    """Run the launcher on its own: python -m meta_mpc_ros.ros.graph.launcher [ARGS]."""
    parser = argparse.ArgumentParser(prog='meta-mpc launch', description=__doc__.split(
        '\n\n')[0].strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
