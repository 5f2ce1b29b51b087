"""
Run graph node entries as processes: start them, watch them, stop them.

Each node is `python lib/meta_mpc_ros/<executable> --ros-args -r __node:=<name>
--params-file ... -p name:=value ... -r from:=to ...`, in its own session, with its
output in <log dir>/<name>.log. Used by `meta-mpc launch`, the demo and the tests.
"""

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from typing import NamedTuple

from meta_mpc_ros.paths import executable_dir

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
