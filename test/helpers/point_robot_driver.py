"""
Play test/helpers/point_robot.py's robot on the robot contract, until commanded enough.

A kinematic differential-drive base, as a robot's driver would be: it publishes /odom
(nav_msgs/Odometry, pose in odom, twist in base_link) and /joint_states (both wheels)
at RATE_HZ of its own clock, applies every /cmd (std_msgs/Float64MultiArray, wheel
rates, clipped to the description's bounds), and records what reached it: the
commands, and the stamps of /meta_mpc/state and of /meta_mpc/command (the state each
command answers). Once PLANNED commands that are not all zero have reached it, or
after SECONDS of wall time, it writes a JSON report and exits:

    python point_robot_driver.py SECONDS OUT.json [PLANNED]
"""

import json
import math
import sys

from nav_msgs.msg import Odometry
import numpy as np
from point_robot import POINT_ROBOT, TRACK, WHEEL_RADIUS
import rclpy
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

RATE_HZ = 20.0


class PointRobotDriver(Node):
    """Integrate the unicycle kinematics of the commanded wheel rates."""

    def __init__(self):
        super().__init__('point_robot_driver')
        self.pose = np.zeros(3)                 # x, y, yaw
        self.wheels = np.zeros(2)               # wheel angles, rad
        self.rates = np.zeros(2)                # commanded wheel rates, rad/s
        self.commands = []                      # (receipt s, width, values)
        self.states = []                        # names of /meta_mpc/state samples
        self.state_stamps = []                  # their stamps, s
        self.answers = []                       # (stamp s, values) of /meta_mpc/command
        self.odom = self.create_publisher(Odometry, '/odom', 20)
        self.joints = self.create_publisher(JointState, '/joint_states', 20)
        self.create_subscription(Float64MultiArray, '/cmd', self.on_command, 10)
        self.create_subscription(JointState, '/meta_mpc/state', self.on_state, 100)
        self.create_subscription(JointState, '/meta_mpc/command', self.on_answer, 100)
        self.last = self.now()
        self.create_timer(1.0 / RATE_HZ, self.tick)

    def now(self):
        """Return the node's clock in s."""
        return self.get_clock().now().nanoseconds * 1e-9

    def on_command(self, message):
        """Apply a command, clipped to the action bounds."""
        values = np.asarray(message.data, dtype=np.float64)
        self.commands.append((self.now(), len(values), values.tolist()))
        if len(values) == POINT_ROBOT.action.dim:
            self.rates = np.clip(values, POINT_ROBOT.action.low, POINT_ROBOT.action.high)

    def on_state(self, message):
        """Record the entries and the stamp of a state the graph estimated."""
        self.states.append(list(message.name))
        self.state_stamps.append(stamp_seconds(message.header.stamp))

    def on_answer(self, message):
        """Record the stamp of the state a command answers, and its values."""
        self.answers.append((stamp_seconds(message.header.stamp), list(message.velocity)))

    def planned(self):
        """Return how many commands that are not all zero have reached the robot."""
        return sum(1 for _, _, values in self.commands if any(values))

    def tick(self):
        """Advance the kinematics to now and publish the measurements."""
        now = self.now()
        dt, self.last = now - self.last, now
        speed = WHEEL_RADIUS * self.rates.mean()
        turn = WHEEL_RADIUS * (self.rates[1] - self.rates[0]) / TRACK
        x, y, yaw = self.pose
        self.pose = np.array([x + speed * math.cos(yaw) * dt, y + speed * math.sin(yaw) * dt,
                              yaw + turn * dt])
        self.wheels += self.rates * dt
        stamp = self.get_clock().now().to_msg()
        odom = Odometry()
        odom.header.stamp, odom.header.frame_id, odom.child_frame_id = stamp, 'odom', 'base_link'
        odom.pose.pose.position.x, odom.pose.pose.position.y = self.pose[:2]
        odom.pose.pose.orientation.z = math.sin(self.pose[2] / 2.0)
        odom.pose.pose.orientation.w = math.cos(self.pose[2] / 2.0)
        odom.twist.twist.linear.x, odom.twist.twist.angular.z = speed, turn
        self.odom.publish(odom)
        joints = JointState(name=list(POINT_ROBOT.joints), position=self.wheels.tolist(),
                            velocity=self.rates.tolist())
        joints.header.stamp = stamp
        self.joints.publish(joints)

    def report(self):
        """Return what reached the robot and where it went."""
        return {'commands': self.commands, 'states': self.states[-5:],
                'state_count': len(self.states), 'state_stamps': self.state_stamps,
                'answers': self.answers, 'pose': self.pose.tolist()}


def stamp_seconds(stamp):
    """Return a builtin_interfaces/Time in s."""
    return stamp.sec + stamp.nanosec * 1e-9


def main():
    """Run the driver (argv[1] s at most, until argv[3] planned commands); write argv[2]."""
    seconds, out = float(sys.argv[1]), sys.argv[2]
    planned = int(sys.argv[3]) if len(sys.argv) > 3 else None
    rclpy.init()
    node = PointRobotDriver()
    end = node.now() + seconds
    print('ready', flush=True)
    while rclpy.ok() and node.now() < end and (planned is None or node.planned() < planned):
        rclpy.spin_once(node, timeout_sec=0.05)
    with open(out, 'w') as file:
        json.dump(node.report(), file)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == '__main__':
    main()
