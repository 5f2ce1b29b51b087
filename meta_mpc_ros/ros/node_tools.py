"""
Small pieces every node uses: dropped-message counting and the standard main().

Bad messages (NaN, wrong sizes, unknown names) are dropped, counted by reason and
reported in diagnostics, with a warning at most once per second per reason.
"""

import os
import signal
import sys

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor


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


def set_torch_threads(count):
    """Limit torch (and its OpenMP pools) to `count` CPU threads in this process."""
    import torch
    os.environ.setdefault('OMP_NUM_THREADS', str(count))
    torch.set_num_threads(count)


def _raise_keyboard_interrupt(signum, frame):
    """Turn SIGTERM into the same clean shutdown as SIGINT."""
    raise KeyboardInterrupt


def run_node(node_class, args=None):
    """
    Create, spin and tear down one node; return a process exit status.

    A SingleThreadedExecutor avoids the stalls a MultiThreadedExecutor shows with
    use_sim_time. SIGINT and SIGTERM exit 0 (Humble's rclpy handles only SIGINT, so
    SIGTERM is mapped to it when rclpy left it alone); an invalid parameter or
    checkpoint exits 2 with the reason on stderr instead of a traceback.
    """
    rclpy.init(args=args)
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    node = None
    try:
        try:
            node = node_class()
        except ValueError as error:
            print(f'{node_class.__name__}: {error}', file=sys.stderr)
            return 2
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            if hasattr(node, 'close'):
                node.close()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
