"""
Small pieces every node uses: drop counting, a /diagnostics status, the main().

Bad messages (NaN, wrong sizes, unknown names) are dropped, counted by reason and
reported in diagnostics, with a warning at most once per second per reason.
"""

import os
import signal
import sys

from diagnostic_msgs.msg import DiagnosticArray
from meta_mpc_ros.ros.diagnostics import diagnostic_array, diagnostic_status
import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.signals import SignalHandlerOptions


class DropCounter:
    """Count dropped messages by reason and warn, throttled, through a node's logger."""

    def __init__(self, logger):
        self.logger = logger
        self.counts = {}

    def drop(self, reason, error):
        """Record one dropped message and warn (at most once a second per reason)."""
        self.counts[reason] = self.counts.get(reason, 0) + 1
        self.logger.warning(f'dropped {reason} message ({self.counts[reason]} so far): {error}',
                            throttle_duration_sec=1.0)

    def read(self, reason, reader, *args):
        """
        Return reader(*args), or None after counting a drop when it raises ValueError.

        :param reason: what is dropped ('cmd', 'odom'), as in `drop`.
        :param reader: a conversions.read_* function.
        """
        try:
            return reader(*args)
        except ValueError as error:
            self.drop(reason, error)
            return None

    @property
    def total(self):
        """Return the number of dropped messages."""
        return sum(self.counts.values())

    def as_values(self):
        """Return diagnostics key/values: the total and one count per reason."""
        values = {'dropped_messages': self.total}
        values.update({f'dropped_{reason}': count for reason, count in self.counts.items()})
        return values


class StatusReporter:
    """
    Publish one status of a node on /diagnostics every period of wall time.

    :param node: the rclpy Node.
    :param concern: what the status is about ('<node name>: <concern>').
    :param status: function() -> (level, one-line message, values dict).
    :param period_s: wall seconds between reports (a steady clock: a stopped /clock
        does not stop them).
    """

    def __init__(self, node, concern, status, period_s=1.0):
        self.node = node
        self.name = f'{node.get_name()}: {concern}'
        self.status = status
        self.publisher = node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        node.create_timer(period_s, self.publish, clock=Clock(clock_type=ClockType.STEADY_TIME))

    def publish(self):
        """Publish the status now."""
        level, message, values = self.status()
        self.publisher.publish(diagnostic_array(
            [diagnostic_status(self.name, level, message, values)],
            self.node.get_clock().now().to_msg()))


def set_torch_threads(count):
    """Limit torch (and its OpenMP pools) to `count` CPU threads in this process."""
    import torch
    os.environ.setdefault('OMP_NUM_THREADS', str(count))
    torch.set_num_threads(count)


# How often a spinning node checks for SIGINT/SIGTERM, wall s.
SIGNAL_CHECK_PERIOD_S = 0.1


class _StopRequest:
    """A signal handler that only notes the signal: the spin loop ends between callbacks."""

    def __init__(self):
        self.signal = None

    def __call__(self, signum, frame):
        self.signal = signum


def run_node(node_class, args=None, start_errors=(ValueError,), start_status=2):
    """
    Create, spin and tear down one node; return a process exit status.

    A SingleThreadedExecutor avoids the stalls a MultiThreadedExecutor shows with
    use_sim_time. SIGINT and SIGTERM exit 0. rclpy's own signal handlers are off, and
    ours raise nothing: an exception raised by a handler while rclpy converts a
    message (a flood of them) surfaces as an rclpy RuntimeError, and rclpy's handlers
    shut the context down, leaving a node no way to publish on the way out. Here a
    signal ends the spin between callbacks, and the node's `close()` (if any) still runs
    with a live context, e.g. to send a last zero command. An invalid parameter or
    checkpoint (one of `start_errors`) exits `start_status` with the reason on stderr
    instead of a traceback. The executor is shut down before the node is destroyed and
    rclpy shut down, so that nothing is left for the garbage collector to destroy twice.
    """
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stop = _StopRequest()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    node = executor = None
    try:
        try:
            node = node_class()
        except start_errors as error:
            print(f'{node_class.__name__}: cannot start: {error}', file=sys.stderr)
            return start_status
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        while rclpy.ok() and stop.signal is None:
            executor.spin_once(timeout_sec=SIGNAL_CHECK_PERIOD_S)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)    # a second signal must not cut
        signal.signal(signal.SIGTERM, signal.SIG_IGN)   # close() short
        if node is not None and hasattr(node, 'close'):
            node.close()
        if executor is not None:
            executor.shutdown()
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
