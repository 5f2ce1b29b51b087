"""
Watch a running node graph from the test process, and wait on what it has done.

For the scenario tests that act on the graph as it goes (kill a node once the graph
controls, stop the simulator once control went on without it): a listener node in an
rclpy context of its own whose `wait_until` spins until a condition on what it has
seen holds. The condition is on sim-time stamps and counts; the wall timeout only
bounds the wait, so a loaded machine makes a run longer, never different.

What it records, each entry led by its wall receive time (monotonic s):

    cmd          /cmd values                    [t, *data]
    answers      /meta_mpc/command (the stamp of the state each command answers)
                                                [t, stamp, *velocity]
    states       /meta_mpc/state stamps          [t, stamp]
    model        /meta_mpc/model                 [t, version, stamp of its window]
    diagnostics  /diagnostics statuses           [t, stamp, status as read_status reads it]
"""

import math
import time

from diagnostic_msgs.msg import DiagnosticArray
from meta_mpc_ros.core.tensor_codec import decode
from meta_mpc_ros.ros.diagnostics import read_status
from nav_msgs.msg import Odometry
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray, UInt8MultiArray

DEPTH = 1000    # messages kept per topic while the test is not spinning (it kills a node)


def seconds(stamp):
    """Return a builtin_interfaces/Time in s."""
    return stamp.sec + stamp.nanosec * 1e-9


class GraphWatch:
    """A listener on the graph's domain; use as a context manager."""

    def __init__(self, env):
        """:param env: environment of the graph's processes (its ROS_DOMAIN_ID)."""
        self.context = Context()
        rclpy.init(context=self.context, domain_id=int(env['ROS_DOMAIN_ID']))
        self.node = rclpy.create_node('graph_watch', context=self.context)
        self.seen = {'cmd': [], 'answers': [], 'states': [], 'model': [], 'diagnostics': []}
        seen, node, now = self.seen, self.node, time.monotonic
        node.create_subscription(Float64MultiArray, '/cmd', lambda m: seen['cmd'].append(
            [now(), *m.data]), DEPTH)
        node.create_subscription(JointState, '/meta_mpc/command', lambda m: seen[
            'answers'].append([now(), seconds(m.header.stamp), *m.velocity]), DEPTH)
        node.create_subscription(JointState, '/meta_mpc/state', lambda m: seen[
            'states'].append([now(), seconds(m.header.stamp)]), DEPTH)
        node.create_subscription(UInt8MultiArray, '/meta_mpc/model', self._on_model,
                                 QoSProfile(depth=DEPTH, reliability=ReliabilityPolicy.RELIABLE))
        node.create_subscription(DiagnosticArray, '/diagnostics', lambda m: seen[
            'diagnostics'].extend([now(), seconds(m.header.stamp), read_status(s)]
                                  for s in m.status), DEPTH)
        self.odometry = node.create_publisher(Odometry, '/odom', 10)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(node)

    def _on_model(self, message):
        _, metadata = decode(message.data.tobytes())
        self.seen['model'].append([time.monotonic(), int(metadata['version']),
                                   int(metadata['stamp_ns']) * 1e-9])

    def __enter__(self):
        """Return the watch."""
        return self

    def __exit__(self, *_):
        """Shut the listener and its context down."""
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)

    def wait_until(self, condition, timeout, what):
        """
        Spin until condition() holds; fail after timeout (wall s).

        :param what: the condition in words, for the failure.
        """
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f'not within {timeout} s of wall time: {what}'
            self.executor.spin_once(timeout_sec=0.05)

    def spin_for(self, wall_s):
        """Spin for wall_s, to take in what is on its way."""
        deadline = time.monotonic() + wall_s
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)

    def newest_state(self):
        """Return the stamp (s) of the newest state heard, or -inf."""
        return self.seen['states'][-1][1] if self.seen['states'] else -math.inf

    def newest_answer(self):
        """Return the stamp (s) of the state the newest command answered, or -inf."""
        return self.seen['answers'][-1][1] if self.seen['answers'] else -math.inf

    def statuses(self, name):
        """Return (t, stamp, status) of every status whose name contains `name`."""
        return [entry for entry in self.seen['diagnostics'] if name in entry[2]['name']]

    def publish_nan_odometry(self):
        """Publish one Odometry whose position is NaN."""
        bad = Odometry()
        bad.header.stamp = self.node.get_clock().now().to_msg()
        bad.pose.pose.position.x = math.nan
        bad.pose.pose.orientation.w = 1.0
        self.odometry.publish(bad)
