"""
An in-test rclpy probe for launch and reference tests: listen and set parameters.

It runs in its own rclpy context on the test's ROS domain, so the processes a test
starts (in that domain) are the only ones it hears. Tests get it from the
ros_probe_class fixture (test/conftest.py).
"""

import time

from nav_msgs.msg import Path
from rcl_interfaces.srv import SetParameters
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

REFERENCE = '/meta_mpc/reference'


class RosProbe:
    """A node in its own context that records messages and calls parameter services."""

    def __init__(self, domain_id, name='launch_probe'):
        self.context = Context()
        rclpy.init(context=self.context, domain_id=int(domain_id))
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.paths = []

    def subscribe_reference(self, latched=True):
        """Record every Path on /meta_mpc/reference (transient local if latched)."""
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                         durability=(DurabilityPolicy.TRANSIENT_LOCAL if latched
                                     else DurabilityPolicy.VOLATILE))
        self.node.create_subscription(Path, REFERENCE, self.paths.append, qos)

    def spin_until(self, predicate, timeout):
        """Spin until predicate() is true or timeout s pass; return predicate()."""
        deadline = time.monotonic() + timeout
        while not predicate() and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)
        return predicate()

    def spin_for(self, seconds):
        """Spin for a while (to see that nothing more arrives)."""
        self.spin_until(lambda: False, seconds)

    def set_parameters(self, node_name, timeout=10.0, **values):
        """
        Set parameters of a running node through its set_parameters service.

        :return: list of rcl_interfaces SetParametersResult, one per parameter.
        """
        client = self.node.create_client(SetParameters, f'/{node_name}/set_parameters')
        try:
            if not client.wait_for_service(timeout_sec=timeout):
                raise TimeoutError(f'/{node_name}/set_parameters is not available')
            request = SetParameters.Request(parameters=[
                Parameter(name, value=value).to_parameter_msg()
                for name, value in values.items()])
            future = client.call_async(request)
            if not self.spin_until(future.done, timeout):
                raise TimeoutError(f'no answer from /{node_name}/set_parameters')
            return future.result().results
        finally:
            self.node.destroy_client(client)

    def close(self):
        """Destroy the node and shut the context down."""
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
