"""
Listen to a running node graph and summarise what it saw as JSON.

python graph_probe.py SECONDS OUT.json [--publish-nan-odometry AT_S]
                     [--until-commanded SIM_S [--linger WALL_S]]
    [--ros-args ...]

Records /cmd and /cmd_vel (Twist: linear.x, angular.z) receive times and values,
/odom positions, /meta_mpc/model versions (from the update metadata),
/meta_mpc/terrain labels and /diagnostics statuses, all with the
probe's wall-clock receive time, and for each node name in the graph the most nodes
of that name seen at once (the graph is looked at every second).
ROS arguments (-r /odom:=/robot/odom) remap what it listens to. With
--publish-nan-odometry it also publishes one Odometry full of NaN at that time (to
check that the graph drops it). With --until-commanded it stops once the odometry
stamps have advanced SIM_S since the first command, printing 'reached'; with --linger
it listens WALL_S longer (to hear the graph shut down) before it writes OUT.json.
"""

import json
import math
import sys
import time

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from meta_mpc_ros.core.tensor_codec import decode
from meta_mpc_ros.ros.diagnostics import read_status
from nav_msgs.msg import Odometry
import rclpy
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.utilities import remove_ros_args
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray, String, UInt8MultiArray


def main():
    """Listen for SECONDS and write the summary."""
    argv = remove_ros_args(sys.argv)
    seconds, out = float(argv[1]), argv[2]
    options = dict(zip(argv[3::2], argv[4::2]))
    nan_at = options.get('--publish-nan-odometry')
    nan_at = float(nan_at) if nan_at is not None else None
    until = options.get('--until-commanded')
    until = float(until) if until is not None else None
    linger = float(options.get('--linger', 0.0))
    rclpy.init(args=sys.argv)
    node = rclpy.create_node('graph_probe')
    start = time.monotonic()
    seen = {'cmd': [], 'cmd_vel': [], 'odom': [], 'model': [], 'terrain': [], 'diagnostics': [],
            'answers': []}

    def now():
        return time.monotonic() - start

    node.create_subscription(Float64MultiArray, '/cmd', lambda m: seen['cmd'].append(
        [now()] + list(m.data)), 50)
    node.create_subscription(Twist, '/cmd_vel', lambda m: seen['cmd_vel'].append(
        [now(), m.linear.x, m.angular.z]), 50)
    # Sim time (odometry stamps) since the first command: --until-commanded stops on it.
    commanded = []

    def on_odom(message):
        stamp = message.header.stamp.sec + message.header.stamp.nanosec * 1e-9
        seen['odom'].append([now(), message.pose.pose.position.x,
                             message.pose.pose.position.y, stamp])
        if seen['cmd'] or seen['cmd_vel']:
            commanded.append(stamp)

    node.create_subscription(Odometry, '/odom', on_odom, 50)

    def on_model(message):
        _, metadata = decode(message.data.tobytes())
        seen['model'].append([now(), int(metadata['version']), metadata['adapter']])

    node.create_subscription(UInt8MultiArray, '/meta_mpc/model', on_model, QoSProfile(
        depth=1, reliability=ReliabilityPolicy.RELIABLE))
    node.create_subscription(String, '/meta_mpc/terrain', lambda m: seen['terrain'].append(
        [now(), m.data]), QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                     durability=DurabilityPolicy.TRANSIENT_LOCAL))
    node.create_subscription(DiagnosticArray, '/diagnostics', lambda m: seen[
        'diagnostics'].extend([now(), read_status(s)] for s in m.status), 50)
    # The stamped commands (sim time of the state each answers): counts in sim time.
    node.create_subscription(JointState, '/meta_mpc/command', lambda m: seen['answers'].append(
        m.header.stamp.sec + m.header.stamp.nanosec * 1e-9), 100)
    publisher = node.create_publisher(Odometry, '/odom', 10)
    print('ready', flush=True)
    seen['nodes'] = {}
    looked = -1.0
    seen['until_reached'] = False
    stop_at = seconds
    while now() < stop_at:
        rclpy.spin_once(node, timeout_sec=0.05)
        if until is not None and not seen['until_reached'] and commanded and \
                commanded[-1] - commanded[0] >= until:
            seen['until_reached'] = True
            print('reached', flush=True)
            stop_at = min(stop_at, now() + linger)
        if now() - looked >= 1.0:
            looked = now()
            names = [name for name, _ in node.get_node_names_and_namespaces()]
            for name in set(names):
                seen['nodes'][name] = max(seen['nodes'].get(name, 0), names.count(name))
        if nan_at is not None and now() >= nan_at:
            bad = Odometry()
            bad.header.stamp = node.get_clock().now().to_msg()
            bad.pose.pose.position.x = math.nan
            bad.pose.pose.orientation.w = 1.0
            publisher.publish(bad)
            nan_at = None
    with open(out, 'w') as stream:
        json.dump(seen, stream)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == '__main__':
    main()
