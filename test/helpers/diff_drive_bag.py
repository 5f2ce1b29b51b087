"""
A differential-drive base's recording, written as `ros2 bag record` on a TurtleBot would.

A unicycle whose forward speed and turn rate follow the /cmd_vel command with a
first-order lag (time constant LAG_S), teleoperated by random commands held for
HOLD_S each: nav_msgs/Odometry at ODOM_DT (pose in odom, twist in base_link) and
geometry_msgs/Twist (or TwistStamped) on the command topic, in a rosbag2 version 8
sqlite3 bag written with rosbags (no rclpy). The tests of training a wheeled base from
its bag, and the smoke run of `results.real_recording`, read it.
"""

import math

import numpy as np
from rosbags.rosbag2 import Writer
from rosbags.typesys import get_typestore, Stores

EPOCH_NS = 1_663_967_375 * 10 ** 9     # the robot's wall clock
ODOM_DT, HOLD_S, LAG_S = 0.05, 0.5, 0.15
# The commands stay inside diff_drive's bounds, so clipping leaves them as written.
SPEEDS, TURN_RATES = (0.0, 0.1, 0.2, 0.3), (-1.0, -0.5, 0.0, 0.5, 1.0)
ODOMETRY, TWIST, TWIST_STAMPED = ('nav_msgs/msg/Odometry', 'geometry_msgs/msg/Twist',
                                  'geometry_msgs/msg/TwistStamped')


def _time(types, nanoseconds):
    """Return a builtin_interfaces/Time of nanoseconds."""
    sec, nanosec = divmod(int(nanoseconds), 10 ** 9)
    return types['builtin_interfaces/msg/Time'](sec=sec, nanosec=nanosec)


def _vector(types, x=0.0, y=0.0, z=0.0):
    """Return a geometry_msgs/Vector3."""
    return types['geometry_msgs/msg/Vector3'](x=float(x), y=float(y), z=float(z))


def _twist(types, speed, turn_rate):
    """Return a geometry_msgs/Twist of a forward speed and a turn rate."""
    return types[TWIST](linear=_vector(types, speed), angular=_vector(types, z=turn_rate))


def _odometry(types, nanoseconds, x, y, yaw, speed, turn_rate):
    """Return a nav_msgs/Odometry of a planar pose and the base's twist."""
    header = types['std_msgs/msg/Header'](stamp=_time(types, nanoseconds), frame_id='odom')
    pose = types['geometry_msgs/msg/Pose'](
        position=types['geometry_msgs/msg/Point'](x=float(x), y=float(y), z=0.0),
        orientation=types['geometry_msgs/msg/Quaternion'](
            x=0.0, y=0.0, z=math.sin(yaw / 2.0), w=math.cos(yaw / 2.0)))
    return types[ODOMETRY](
        header=header, child_frame_id='base_link',
        pose=types['geometry_msgs/msg/PoseWithCovariance'](pose=pose,
                                                           covariance=np.zeros(36)),
        twist=types['geometry_msgs/msg/TwistWithCovariance'](
            twist=_twist(types, speed, turn_rate), covariance=np.zeros(36)))


def write_diff_drive_bag(path, seconds=30.0, odom_topic='/odom', cmd_topic='/cmd_vel',
                         stamped=False, with_commands=True, seed=0):
    """
    Write a teleoperated base's bag.

    :param path: the bag directory to create.
    :param seconds: its length, s.
    :param odom_topic: the odometry topic's name.
    :param cmd_topic: the command topic's name.
    :param stamped: write geometry_msgs/TwistStamped instead of Twist.
    :param with_commands: False leaves the command topic out (odometry only).
    :param seed: seeds the commands.
    :return: the commands written, [(bag time ns, speed m/s, turn rate rad/s)].
    """
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    types = typestore.types
    rng = np.random.default_rng(seed)
    x = y = yaw = speed = turn_rate = 0.0
    commands, command = [], (0.0, 0.0)
    hold = int(round(HOLD_S / ODOM_DT))
    with Writer(path, version=8) as writer:
        odometry = writer.add_connection(odom_topic, ODOMETRY, typestore=typestore)
        cmd = writer.add_connection(cmd_topic, TWIST_STAMPED if stamped else TWIST,
                                    typestore=typestore) if with_commands else None
        for step in range(int(round(seconds / ODOM_DT))):
            now = EPOCH_NS + int(round(step * ODOM_DT * 1e9))
            if step % hold == 0:
                command = (float(rng.choice(SPEEDS)), float(rng.choice(TURN_RATES)))
                commands.append((now, *command))
                if cmd is not None:
                    message = _twist(types, *command)
                    if stamped:
                        message = types[TWIST_STAMPED](header=types['std_msgs/msg/Header'](
                            stamp=_time(types, now), frame_id='base_link'), twist=message)
                    writer.write(cmd, now, typestore.serialize_cdr(message, message.__msgtype__))
            # The base follows the command with a lag; the pose integrates its twist.
            blend = 1.0 - math.exp(-ODOM_DT / LAG_S)
            speed += blend * (command[0] - speed)
            turn_rate += blend * (command[1] - turn_rate)
            yaw += turn_rate * ODOM_DT
            x += speed * math.cos(yaw) * ODOM_DT
            y += speed * math.sin(yaw) * ODOM_DT
            message = _odometry(types, now, x, y, yaw, speed, turn_rate)
            # Received a few milliseconds after it was stamped, as a recorder would.
            writer.write(odometry, now + 3 * 10 ** 6,
                         typestore.serialize_cdr(message, ODOMETRY))
    return commands
