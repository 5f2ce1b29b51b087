"""
A tiny rclpy process for the two-process DDS test: publish or count Odometry.

python odometry_probe.py publish RATE_HZ SECONDS
python odometry_probe.py listen SECONDS     (prints: received N first LAST_SEQ)

The publisher starts its clock once the listener is matched (discovery under load can
take seconds), and the listener stops 2 s after the last message, or after SECONDS.
"""

import sys
import time

from nav_msgs.msg import Odometry
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy


def publish(rate_hz, seconds):
    """Publish Odometry with an increasing x position at rate_hz for seconds."""
    node = rclpy.create_node('odometry_probe_publisher')
    publisher = node.create_publisher(Odometry, 'odom', QoSProfile(
        depth=100, reliability=ReliabilityPolicy.RELIABLE))
    count = [0]
    matched = time.monotonic() + 30.0
    while publisher.get_subscription_count() == 0 and time.monotonic() < matched:
        rclpy.spin_once(node, timeout_sec=0.05)

    def tick():
        message = Odometry()
        message.header.stamp = node.get_clock().now().to_msg()
        message.header.frame_id = 'odom'
        message.child_frame_id = 'base_link'
        message.pose.pose.position.x = float(count[0])
        publisher.publish(message)
        count[0] += 1

    node.create_timer(1.0 / rate_hz, tick)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.01)
    print(f'published {count[0]}', flush=True)


def listen(seconds):
    """Count Odometry messages for seconds and print the count and the positions seen."""
    node = rclpy.create_node('odometry_probe_listener')
    positions = []
    node.create_subscription(Odometry, 'odom', lambda m: positions.append(
        m.pose.pose.position.x), QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
    print('ready', flush=True)
    deadline = time.monotonic() + seconds
    heard = [0, time.monotonic()]
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.01)
        if len(positions) != heard[0]:
            heard[:] = [len(positions), time.monotonic()]
        elif positions and time.monotonic() - heard[1] > 2.0:
            break
    first = int(positions[0]) if positions else -1
    last = int(positions[-1]) if positions else -1
    print(f'received {len(positions)} {first} {last}', flush=True)


def main():
    """Dispatch on the first argument."""
    rclpy.init()
    try:
        if sys.argv[1] == 'publish':
            publish(float(sys.argv[2]), float(sys.argv[3]))
        else:
            listen(float(sys.argv[2]))
    finally:
        rclpy.shutdown()


if __name__ == '__main__':
    main()
