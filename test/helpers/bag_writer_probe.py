"""
A process that writes a bag until it is killed, for the crash-safety tests.

python bag_writer_probe.py BAG STORAGE RATE_HZ FLUSH_PERIOD_S

Every tick it writes an Odometry on /odom whose position.x is the tick number and
whose bag timestamp is the wall-clock time (time.time_ns()); every tenth tick also a
String on /meta_mpc/terrain. It prints 'ready' once the first flush is done and
never closes the bag: the test kills it.
"""

import sys
import time

from meta_mpc_ros.data.bag_writer import BagWriter
import numpy as np
from rosbags.typesys import get_typestore, Stores


def odometry(types, tick, now):
    """Return an Odometry at x = tick stamped now (ns)."""
    vector = types['geometry_msgs/msg/Vector3'](x=0.0, y=0.0, z=0.0)
    return types['nav_msgs/msg/Odometry'](
        header=types['std_msgs/msg/Header'](
            stamp=types['builtin_interfaces/msg/Time'](sec=now // 10**9, nanosec=now % 10**9),
            frame_id='odom'),
        child_frame_id='base_link',
        pose=types['geometry_msgs/msg/PoseWithCovariance'](
            pose=types['geometry_msgs/msg/Pose'](
                position=types['geometry_msgs/msg/Point'](x=float(tick), y=0.0, z=0.0),
                orientation=types['geometry_msgs/msg/Quaternion'](x=0.0, y=0.0, z=0.0, w=1.0)),
            covariance=np.zeros(36)),
        twist=types['geometry_msgs/msg/TwistWithCovariance'](
            twist=types['geometry_msgs/msg/Twist'](linear=vector, angular=vector),
            covariance=np.zeros(36)))


def main():
    """Write Odometry (and String) at a fixed rate until killed."""
    bag, storage = sys.argv[1], sys.argv[2]
    rate_hz, flush_period_s = float(sys.argv[3]), float(sys.argv[4])
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    types = typestore.types
    writer = BagWriter(bag, storage, flush_period_s=flush_period_s, typestore=typestore)
    writer.add_topic('/odom', 'nav_msgs/msg/Odometry')
    writer.add_topic('/meta_mpc/terrain', 'std_msgs/msg/String')
    period = 1.0 / rate_hz
    next_time = time.monotonic()
    tick = 0
    while True:
        now = time.time_ns()
        writer.write('/odom', now, odometry(types, tick, now))
        if tick % 10 == 0:
            writer.write('/meta_mpc/terrain', now, types['std_msgs/msg/String'](
                data=f'tick {tick}'))
        if tick == 0:
            writer.flush()
            print('ready', flush=True)
        tick += 1
        next_time += period
        time.sleep(max(0.0, next_time - time.monotonic()))


if __name__ == '__main__':
    main()
