"""
A tiny rclpy process for the two-process DDS test: publish or count Odometry.

python odometry_probe.py publish RATE_HZ COUNT          (prints: published N)
python odometry_probe.py listen SECONDS [COUNT]   (prints: received N FIRST LAST GAPLESS)

The publisher starts once the listener is matched (discovery under load can take
seconds), publishes COUNT messages at RATE_HZ and exits once the listener has
acknowledged them all (reliable QoS). Both histories hold COUNT messages, so a listener
that falls behind on a loaded machine loses none. The listener stops once it has COUNT
messages, or after SECONDS; without COUNT, 2 s after the last message.
"""

import sys
import time

from nav_msgs.msg import Odometry
import rclpy
from rclpy.duration import Duration
from rclpy.qos import QoSProfile, ReliabilityPolicy


# The history of each side (messages): at least the most any test sends.
DEPTH = 1000
QOS = QoSProfile(depth=DEPTH, reliability=ReliabilityPolicy.RELIABLE)


def publish(rate_hz, total):
    """Publish `total` Odometry with x = 0, 1, 2, ... at rate_hz; wait until acknowledged."""
    node = rclpy.create_node('odometry_probe_publisher')
    publisher = node.create_publisher(Odometry, 'odom', QOS)
    count = [0]
    matched = time.monotonic() + 30.0
    while publisher.get_subscription_count() == 0 and time.monotonic() < matched:
        rclpy.spin_once(node, timeout_sec=0.05)

    def tick():
        if count[0] >= total:
            return
        message = Odometry()
        message.header.stamp = node.get_clock().now().to_msg()
        message.header.frame_id = 'odom'
        message.child_frame_id = 'base_link'
        message.pose.pose.position.x = float(count[0])
        publisher.publish(message)
        count[0] += 1

    node.create_timer(1.0 / rate_hz, tick)
    while count[0] < total:
        rclpy.spin_once(node, timeout_sec=0.01)
    # Without a subscriber (another domain) there is nothing to wait for.
    publisher.wait_for_all_acked(Duration(seconds=30.0))
    print(f'published {count[0]}', flush=True)


def listen(seconds, expected=None):
    """Count Odometry messages (up to `expected`, at most seconds); print count and positions."""
    node = rclpy.create_node('odometry_probe_listener')
    positions = []
    node.create_subscription(Odometry, 'odom', lambda m: positions.append(
        m.pose.pose.position.x), QOS)
    print('ready', flush=True)
    deadline = time.monotonic() + seconds
    heard = [0, time.monotonic()]
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.01)
        if expected is not None:
            if len(positions) >= expected:
                break
        elif len(positions) != heard[0]:
            heard[:] = [len(positions), time.monotonic()]
        elif positions and time.monotonic() - heard[1] > 2.0:
            break
    first = int(positions[0]) if positions else -1
    last = int(positions[-1]) if positions else -1
    gapless = positions == [float(x) for x in range(first, first + len(positions))]
    print(f'received {len(positions)} {first} {last} {gapless}', flush=True)


def main():
    """Dispatch on the first argument."""
    rclpy.init()
    try:
        if sys.argv[1] == 'publish':
            publish(float(sys.argv[2]), int(sys.argv[3]))
        else:
            listen(float(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else None)
    finally:
        rclpy.shutdown()


if __name__ == '__main__':
    main()
