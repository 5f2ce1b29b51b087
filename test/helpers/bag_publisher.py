"""
A publisher process for the bag_recorder tests.

python bag_publisher.py SECONDS [sim]

Waits (up to 30 s) until both topics have a subscriber, then publishes for SECONDS:
Odometry on /odom at 50 Hz (position.x = 0, 1, 2, ...; header stamp = publish time)
and String on /meta_mpc/terrain at 5 Hz ('terrain 0', 'terrain 1', ...). With `sim`,
it also publishes /clock before each Odometry, starting at SIM_START_S and advancing
20 ms per tick, and stamps with that time. Prints 'publishing' when it starts and
'published N_ODOMETRY N_STRING' at the end.
"""

import sys
import time

from nav_msgs.msg import Odometry
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from std_msgs.msg import String

SIM_START_S = 1000
RATE_HZ = 50.0


def main():
    """Publish Odometry and String (and /clock) for the given seconds."""
    seconds, sim = float(sys.argv[1]), 'sim' in sys.argv[2:]
    rclpy.init()
    node = rclpy.create_node('bag_publisher')
    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    odometry = node.create_publisher(Odometry, '/odom', qos)
    terrain = node.create_publisher(String, '/meta_mpc/terrain', qos)
    clock = node.create_publisher(Clock, '/clock', 10) if sim else None
    deadline = time.monotonic() + 30.0
    while (odometry.get_subscription_count() == 0 or terrain.get_subscription_count() == 0) \
            and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    print('publishing', flush=True)
    ticks = int(seconds * RATE_HZ)
    strings = 0
    start = time.monotonic()
    for tick in range(ticks):
        if sim:
            now_ns = SIM_START_S * 10**9 + tick * 20_000_000
            stamp = Clock()
            stamp.clock.sec, stamp.clock.nanosec = divmod(now_ns, 10**9)
            clock.publish(stamp)
        message = Odometry()
        message.header.stamp = stamp.clock if sim else node.get_clock().now().to_msg()
        message.header.frame_id = 'odom'
        message.child_frame_id = 'base_link'
        message.pose.pose.position.x = float(tick)
        message.pose.pose.orientation.w = 1.0
        odometry.publish(message)
        if tick % 10 == 0:
            terrain.publish(String(data=f'terrain {strings}'))
            strings += 1
        time.sleep(max(0.0, start + (tick + 1) / RATE_HZ - time.monotonic()))
    print(f'published {ticks} {strings}', flush=True)
    time.sleep(0.5)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == '__main__':
    main()
