"""
cmd_split_node: our /cmd as two per-side velocity setpoints, for a Gazebo robot.

ros_gz_bridge has no mapping for std_msgs/Float64MultiArray, and gz-sim's
JointController takes one gz.msgs.Double per controller, so launch/gazebo.launch.py
starts this node beside the bridge. It subscribes

    /cmd                    std_msgs/Float64MultiArray [left, right] leg rates, rad/s

and publishes, for each command,

    /millirobot/left_cmd    std_msgs/Float64 (bridged to the left JointController)
    /millirobot/right_cmd   std_msgs/Float64 (bridged to the right JointController)

Like robot firmware (and sim_node), it sends zero to both sides once, when no /cmd
came for `command_timeout_s` on the node's clock (sim time under use_sim_time), since
a JointController keeps its last setpoint. Bad commands (NaN, wrong length) are
dropped and counted.
"""

from meta_mpc_ros.robots.millirobot import MILLIROBOT_ACTION
from meta_mpc_ros.ros import conversions
from meta_mpc_ros.ros.node_tools import DropCounter, run_node
from meta_mpc_ros.ros.parameters import declare_parameters, ParameterSpec
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from std_msgs.msg import Float64, Float64MultiArray

SIDES = ('left', 'right')
CHECK_PERIOD_S = 0.05

PARAMETERS = (
    ParameterSpec('command_timeout_s', 0.5, 'Send zero to both sides when no /cmd came for '
                  'this long (node clock, s).', bounds=(0.01, 3600.0)),
)


class CmdSplitNode(Node):
    """Forward each [left, right] command as two Float64 setpoints; zero them when stale."""

    def __init__(self):
        super().__init__('cmd_split_node')
        self.values = declare_parameters(self, PARAMETERS)
        self.drops = DropCounter(self.get_logger())
        self.publishers_by_side = {side: self.create_publisher(
            Float64, f'/millirobot/{side}_cmd', 10) for side in SIDES}
        self.create_subscription(Float64MultiArray, '/cmd', self.on_command, 10)
        self.last_command_ns = None
        # Checked on a steady timer: a wall-clock period, the age on the node's clock.
        self.create_timer(CHECK_PERIOD_S, self.check_timeout,
                          clock=Clock(clock_type=ClockType.STEADY_TIME))

    def on_command(self, message):
        """Publish one command's sides (a bad one is dropped and counted)."""
        command = self.drops.read('cmd', conversions.read_command, message,
                                  MILLIROBOT_ACTION.dim)
        if command is not None:
            self.publish(command)
            self.last_command_ns = self.get_clock().now().nanoseconds

    def publish(self, command):
        """Publish [left, right] as one Float64 per side."""
        for side, value in zip(SIDES, command):
            self.publishers_by_side[side].publish(Float64(data=float(value)))

    def check_timeout(self):
        """Stop both sides once when commands stopped coming."""
        if self.last_command_ns is None:
            return
        age = (self.get_clock().now().nanoseconds - self.last_command_ns) * 1e-9
        if age > self.values['command_timeout_s']:
            self.publish((0.0, 0.0))
            self.last_command_ns = None
            self.get_logger().warning('no /cmd within command_timeout_s: both sides stopped')


def main(args=None):
    """Run the node until shutdown."""
    return run_node(CmdSplitNode, args)
