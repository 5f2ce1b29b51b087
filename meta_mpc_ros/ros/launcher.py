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
import ctypes
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from typing import NamedTuple

from meta_mpc_ros.paths import executable_dir
from meta_mpc_ros.ros.graph import build_graph, declared_arguments, GraphError

_PR_SET_PDEATHSIG = 1


class NodeExit(NamedTuple):
    """A node process that has exited: its name and return code (-N: killed by N)."""

    name: str
    returncode: int


def encode_parameter(value):
    """
    Return a parameter value as `-p name:=VALUE` takes it (YAML), so that it round-trips.

    Strings are single-quoted ('true' stays a string); lists must be non-empty and of
    one type (ints are widened to float when mixed with floats).

    :param value: bool, int, float, str, or a list of one of those.
    :return: str
    :raises ValueError: for other types, NaN/inf, newlines or empty/mixed lists.
    """
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError('an empty list has no ROS parameter type; leave it out')
        kinds = {bool if isinstance(item, bool) else type(item) for item in value}
        if kinds == {int, float}:
            value, kinds = [float(item) for item in value], {float}
        if len(kinds) != 1 or not kinds <= {bool, int, float, str}:
            raise ValueError(f'a list parameter needs items of one type, got {value!r}')
        return '[' + ', '.join(encode_parameter(item) for item in value) + ']'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float('inf'), float('-inf')):
            raise ValueError(f'a parameter cannot be {value}')
        return repr(value)
    if isinstance(value, str):
        if '\n' in value or '\r' in value:
            raise ValueError('a string parameter given with -p cannot contain a newline')
        return "'" + value.replace("'", "''") + "'"
    raise ValueError(f'cannot pass {value!r} ({type(value).__name__}) as a ROS parameter')


def node_command(entry, executable=None):
    """
    Return the command line of one node entry.

    :param entry: graph.NodeEntry.
    :param executable: path of the executable (default entry.path or the installed one).
    :return: list of str, starting with sys.executable.
    """
    executable = executable or entry.path or str(executable_dir() / entry.executable)
    command = [sys.executable, str(executable), *entry.arguments, '--ros-args',
               '-r', f'__node:={entry.name}']
    for path in entry.parameter_files:
        command += ['--params-file', str(path)]
    for name, value in entry.parameters.items():
        command += ['-p', f'{name}:={encode_parameter(value)}']
    for source, target in entry.remappings:
        command += ['-r', f'{source}:={target}']
    return command


def _die_with_parent(parent_pid):
    """Return a preexec function: the child gets SIGTERM if the launcher dies (Linux)."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec():
        # A node starts with default SIGINT/SIGTERM even if the launcher's parent
        # ignored them (a background job of a non-interactive shell).
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        except ValueError:  # started from a thread other than the main one
            pass
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGTERM)
    return preexec


class GraphProcess:
    """
    Run node entries as processes: start, watch, stop.

    Each node gets its own session (so a terminal's Ctrl-C reaches it only through
    `stop`) and, on Linux, dies with the thread that started it.

    :param entries: graph.NodeEntry's to start, in order (external ones are refused).
    :param env: environment of the nodes (default os.environ); PYTHONUNBUFFERED=1 and
        ROS_LOG_DIR=<log_dir>/ros are added unless set.
    :param log_dir: directory for <name>.log files (created).
    :param echo: also copy node output to stdout, each line prefixed with [name].
    """

    def __init__(self, entries, log_dir, env=None, echo=False):
        self.entries = tuple(entries)
        external = [entry.name for entry in self.entries if entry.external]
        if external:
            raise ValueError(f'{external} are started only by ros2 launch')
        self.log_dir = os.path.abspath(log_dir)
        self.env = dict(os.environ if env is None else env)
        self.env.setdefault('PYTHONUNBUFFERED', '1')
        self.env.setdefault('ROS_LOG_DIR', os.path.join(self.log_dir, 'ros'))
        self.echo = echo
        self.kill_now = threading.Event()
        self.killed = []
        self._processes = {}
        self._threads = []

    @property
    def pids(self):
        """Return name -> pid of every started node."""
        return {name: process.pid for name, process in self._processes.items()}

    def log_path(self, name):
        """Return the log file path of node `name`."""
        return os.path.join(self.log_dir, f'{name}.log')

    def start(self):
        """Start every node; if one cannot start, stop those started and raise."""
        os.makedirs(self.log_dir, exist_ok=True)
        commands = [node_command(entry) for entry in self.entries]
        for entry, command in zip(self.entries, commands):
            missing = [path for path in [command[1], *entry.parameter_files]
                       if not os.path.isfile(path)]
            if missing:
                raise FileNotFoundError(f'{entry.name}: missing {missing} (is the package '
                                        'installed? make venv / colcon build)')
        try:
            for entry, command in zip(self.entries, commands):
                self._spawn(entry.name, command)
        except BaseException:
            self.stop(timeout=5.0)
            raise
        return self

    def _spawn(self, name, command):
        """Start one node process with its output going to its log file."""
        log = open(self.log_path(name), 'ab')
        log.write(('$ ' + ' '.join(command) + '\n').encode())
        log.flush()
        output = subprocess.PIPE if self.echo else log
        process = subprocess.Popen(command, env=self.env, stdin=subprocess.DEVNULL,
                                   stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True,
                                   preexec_fn=_die_with_parent(os.getpid()))
        self._processes[name] = process
        if self.echo:
            thread = threading.Thread(target=self._copy_output, args=(name, process, log),
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        else:
            log.close()

    @staticmethod
    def _copy_output(name, process, log):
        """Copy a node's output to its log and to stdout, prefixed with its name."""
        with log:
            for line in process.stdout:
                log.write(line)
                log.flush()
                sys.stdout.write(f'[{name}] ' + line.decode(errors='replace'))
                sys.stdout.flush()

    def poll(self):
        """Return a NodeExit for every node that has exited, in start order."""
        return [NodeExit(name, process.returncode) for name, process in
                self._processes.items() if process.poll() is not None]

    def wait(self, timeout=None):
        """
        Wait until some node exits.

        :param timeout: seconds, or None to wait as long as it takes.
        :return: the first NodeExit, or None if all still run after timeout.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            exits = self.poll()
            if exits:
                return exits[0]
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def stop(self, sig=signal.SIGINT, timeout=10.0):
        """
        Stop every node: send `sig`, wait up to `timeout` s, then SIGKILL the rest.

        Setting `kill_now` (a second Ctrl-C) skips the rest of the wait.

        :return: dict name -> return code; killed nodes are listed in `self.killed`.
        """
        for process in self._processes.values():
            self._signal(process, sig)
        deadline = time.monotonic() + timeout
        while (any(process.poll() is None for process in self._processes.values())
               and time.monotonic() < deadline and not self.kill_now.is_set()):
            time.sleep(0.05)
        for name, process in self._processes.items():
            if process.poll() is None:
                self._signal(process, signal.SIGKILL)
                self.killed.append(name)
        for process in self._processes.values():
            process.wait()
        for thread in self._threads:
            thread.join(timeout=2.0)
        return {name: process.returncode for name, process in self._processes.items()}

    @staticmethod
    def _signal(process, sig):
        """Signal a node's process group (the node and anything it started)."""
        if process.poll() is None:
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass

    def tail(self, name, lines=15):
        """Return the last `lines` lines of a node's log."""
        try:
            with open(self.log_path(name), 'rb') as log:
                text = log.read()[-65536:].decode(errors='replace')
        except OSError:
            return ''
        return '\n'.join(text.splitlines()[-lines:])

    def __enter__(self):
        """Start the nodes."""
        return self.start()

    def __exit__(self, *exc):
        """Stop the nodes."""
        self.stop()


def describe_exit(returncode):
    """Return 'code N' or 'signal NAME' for a process return code."""
    if returncode is not None and returncode < 0:
        try:
            return f'signal {signal.Signals(-returncode).name}'
        except ValueError:
            return f'signal {-returncode}'
    return f'code {returncode}'


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
    while not requested:
        died = process.wait(timeout=0.1)
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
    unclean = {name: code for name, code in codes.items() if code not in (0, -sig)}
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
    if args.show_args:
        for spec in declared_arguments(args.graph):
            choices = f" (one of: {', '.join(spec.choices)})" if spec.choices else ''
            print(f"'{spec.name}': {spec.description}{choices}\n"
                  f"    (default: '{spec.default_text}')")
        return 0
    try:
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
            print(f'  not started: {entry.name} ({entry.condition} is false)')
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
    """Run the launcher on its own: python -m meta_mpc_ros.ros.launcher [ARGS]."""
    parser = argparse.ArgumentParser(prog='meta-mpc launch', description=__doc__.split(
        '\n\n')[0].strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
