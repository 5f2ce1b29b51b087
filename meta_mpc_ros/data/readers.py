"""
Readers of ROS messages into numpy arrays; no ROS package is imported.

Readers only access attributes, so they read messages deserialized by `rosbags` from
bag files as well as live rclpy messages: live runs (ros/, which re-exports them from
ros/conversions.py) and offline training from bags (data/) build the same arrays. A
reader raises ValueError for a message it cannot use (NaN, inf or beyond MAX_VALUE,
wrong sizes, missing names); callers drop the message and count it.

Topic layouts (see docs/ros_interface.md):
    /cmd                  Float64MultiArray, data = the command (nu,), no layout.
    /cmd_vel              Twist or TwistStamped: the command is (linear.x, angular.z).
    /meta_mpc/state       JointState as a stamped named vector: name, position = values.
    /meta_mpc/transitions Float64MultiArray, layout dims states (M+1) / state (nx) /
                          actions (M) / action (nu) [/ stamp (1)]; data = states then
                          actions, row-major [then the newest state's stamp, s].
    /meta_mpc/command     JointState, stamped with the state it answers: name = the
                          command's entries, velocity = the command (lockstep).
    /meta_mpc/applied_command  the same layout, stamped when the robot applied it.
"""

import math

from meta_mpc_ros.core.reference import ReferencePath
import numpy as np

TRANSITION_LABELS = ('states', 'state', 'actions', 'action')
# The optional fifth dimension of a window: the stamp of its newest state.
STAMP_LABEL = 'stamp'
_NS_PER_S = 1_000_000_000
# No field of a message we read may exceed this (m, rad, m/s...): far beyond any
# robot, and its square still fits float32, so a value that passes cannot overflow
# the planner. Larger ones are dropped like NaN.
MAX_VALUE = 1e9
# A stamp is s since its clock's epoch: wall-clock stamps (about 1.8e9 s, beyond
# MAX_VALUE) are fine up to builtin_interfaces/Time's largest second, 2^31 - 1.
MAX_STAMP_S = float(2 ** 31)


def finite_array(values, what):
    """Return values as a float64 array; raise ValueError for NaN, inf or |v| > MAX_VALUE."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f'{what} is not numeric: {error}') from None
    if not np.all(np.abs(array) <= MAX_VALUE):
        raise ValueError(f'{what} has non-finite or out-of-range values (beyond '
                         f'+-{MAX_VALUE:g}): {array}')
    return array


def finite_stamp(value, what):
    """Return a stamp in s as a float; raise ValueError unless 0 <= it <= MAX_STAMP_S."""
    try:
        stamp = float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f'{what} is not numeric: {error}') from None
    if not 0.0 <= stamp <= MAX_STAMP_S:
        raise ValueError(f'{what} {stamp!r} is not a stamp (0 to {MAX_STAMP_S:g} s)')
    return stamp


def stamp_to_nanoseconds(stamp):
    """Return a builtin_interfaces/Time (or anything with sec, nanosec) as int ns."""
    return int(stamp.sec) * _NS_PER_S + int(stamp.nanosec)


def stamp_to_seconds(stamp):
    """Return a builtin_interfaces/Time (or anything with sec, nanosec) as float s."""
    return int(stamp.sec) + int(stamp.nanosec) * 1e-9


def quaternion_to_yaw(x, y, z, w):
    """Return the yaw (rad) of a quaternion (ZYX convention)."""
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def read_odometry(message):
    """
    Read a nav_msgs/Odometry.

    :param message: Odometry (pose in the header frame, twist in the child frame).
    :return: (position (3,), orientation_xyzw (4,), linear_velocity (3,),
        angular_velocity (3,), stamp_s float).
    :raises ValueError: for non-finite values or a zero quaternion.
    """
    pose, twist = message.pose.pose, message.twist.twist
    position = finite_array([pose.position.x, pose.position.y, pose.position.z],
                            'odometry position')
    orientation = finite_array([pose.orientation.x, pose.orientation.y, pose.orientation.z,
                                pose.orientation.w], 'odometry orientation')
    if not np.linalg.norm(orientation) > 0.0:
        raise ValueError('odometry orientation is a zero quaternion')
    linear = finite_array([twist.linear.x, twist.linear.y, twist.linear.z],
                          'odometry linear twist')
    angular = finite_array([twist.angular.x, twist.angular.y, twist.angular.z],
                           'odometry angular twist')
    return position, orientation, linear, angular, stamp_to_seconds(message.header.stamp)


def read_joint_states(message, joint_names):
    """
    Read positions and velocities of named joints from a sensor_msgs/JointState.

    :param message: JointState with name, position and velocity of equal length.
    :param joint_names: the joints wanted, in the order wanted.
    :return: (positions (J,), velocities (J,)) float64.
    :raises ValueError: when a joint is missing, sizes differ or a value is not finite.
    """
    names = list(message.name)
    if len(message.position) != len(names) or len(message.velocity) != len(names):
        raise ValueError(f'joint_states: {len(names)} names, {len(message.position)} '
                         f'positions and {len(message.velocity)} velocities')
    index = {name: i for i, name in enumerate(names)}
    missing = [name for name in joint_names if name not in index]
    if missing:
        raise ValueError(f'joint_states: no joint {missing}; joints are {names}')
    rows = [index[name] for name in joint_names]
    positions = finite_array(np.asarray(message.position, dtype=np.float64)[rows],
                             'joint positions')
    velocities = finite_array(np.asarray(message.velocity, dtype=np.float64)[rows],
                              'joint velocities')
    return positions, velocities


def read_command(message, size=None):
    """
    Read a command vector from a Float64MultiArray.

    :param message: Float64MultiArray whose data is the command.
    :param size: expected length (nu), or None for any.
    :return: (nu,) float64.
    :raises ValueError: for a wrong length or non-finite values.
    """
    values = finite_array(message.data, 'command')
    if size is not None and values.shape != (size,):
        raise ValueError(f'command has {values.size} values, expected {size}')
    return values


def read_twist(message, size=None):
    """
    Read a mobile base's command from a geometry_msgs/Twist (or TwistStamped).

    :param message: Twist, or TwistStamped (its `twist`).
    :param size: expected length (2), or None for any.
    :return: (2,) float64: (linear.x m/s, angular.z rad/s).
    :raises ValueError: for non-finite values, or a size other than 2.
    """
    twist = getattr(message, 'twist', message)
    values = finite_array([twist.linear.x, twist.angular.z], 'twist command')
    if size is not None and size != values.size:
        raise ValueError(f'a twist command has 2 values (linear.x, angular.z), expected {size}')
    return values


# How a command message is read, by its type: message type -> reader(message, size).
COMMAND_READERS = {
    'std_msgs/msg/Float64MultiArray': read_command,
    'geometry_msgs/msg/Twist': read_twist,
    'geometry_msgs/msg/TwistStamped': read_twist,
}


def read_stamped_command(message, size=None):
    """
    Read a stamped command from a JointState (velocity = the command).

    :param message: JointState written by conversions.stamped_command_message.
    :param size: expected length (nu), or None for any.
    :return: (command (nu,) float64, stamp in int ns).
    :raises ValueError: for a wrong length, names that do not match, or non-finite values.
    """
    values = finite_array(message.velocity, 'command')
    if size is not None and values.shape != (size,):
        raise ValueError(f'command has {values.size} values, expected {size}')
    if len(message.name) not in (0, values.size):
        raise ValueError(f'command has {values.size} values for {len(message.name)} names')
    return values, stamp_to_nanoseconds(message.header.stamp)


def read_state(message, names=None):
    """
    Read a named state vector from a JointState.

    :param message: JointState written by state_message.
    :param names: expected entry names in order, or None to accept any.
    :return: (state (nx,), stamp_s float).
    :raises ValueError: when the names differ from `names`, sizes differ or a value is
        not finite.
    """
    received = tuple(message.name)
    if names is not None and received != tuple(names):
        raise ValueError(f'state names {received} differ from the expected {tuple(names)}')
    values = finite_array(message.position, 'state')
    if values.shape != (len(received),):
        raise ValueError(f'state has {values.size} values for {len(received)} names')
    return values, stamp_to_seconds(message.header.stamp)


def read_transitions(message, state_dim=None, action_dim=None):
    """
    Read a window of transitions from a Float64MultiArray.

    :param message: Float64MultiArray written by transitions_message.
    :param state_dim: expected nx, or None for any.
    :param action_dim: expected nu, or None for any.
    :return: (states (M+1, nx), actions (M, nu)) float64.
    :raises ValueError: for wrong labels, sizes, strides or non-finite values.
    """
    states, actions, _ = read_stamped_transitions(message, state_dim, action_dim)
    return states, actions


def read_stamped_transitions(message, state_dim=None, action_dim=None):
    """
    Read a window of transitions and the stamp of its newest state, if it has one.

    :return: (states (M+1, nx), actions (M, nu), stamp in s or None).
    :raises ValueError: as read_transitions does.
    """
    dims = list(message.layout.dim)
    labels = tuple(dim.label for dim in dims)
    stamped = labels == TRANSITION_LABELS + (STAMP_LABEL,)
    if labels != TRANSITION_LABELS and not stamped:
        raise ValueError(f'transitions layout labels {labels}, expected {TRANSITION_LABELS} '
                         f'(and optionally {STAMP_LABEL!r})')
    if stamped and (int(dims[4].size), int(dims[4].stride)) != (1, 1):
        raise ValueError('transitions: the stamp dimension must have size and stride 1')
    rows, nx, steps, nu = (int(dim.size) for dim in dims[:4])
    if rows != steps + 1 or nx < 1 or nu < 1:
        raise ValueError(f'transitions: {rows} states for {steps} actions (need M+1 and M)')
    strides = tuple(int(dim.stride) for dim in dims[:4])
    if strides != (rows * nx, nx, steps * nu, nu) or int(message.layout.data_offset) != 0:
        raise ValueError(f'transitions: strides {strides} or offset do not match a packed '
                         f'({rows}, {nx}) + ({steps}, {nu}) layout')
    if state_dim is not None and nx != state_dim:
        raise ValueError(f'transitions: state size {nx}, expected {state_dim}')
    if action_dim is not None and nu != action_dim:
        raise ValueError(f'transitions: action size {nu}, expected {action_dim}')
    size = rows * nx + steps * nu
    if len(message.data) != size + stamped:
        raise ValueError(f'transitions: {len(message.data)} values, layout needs '
                         f'{size + stamped}')
    data = finite_array(message.data[:size], 'transitions')
    stamp = finite_stamp(message.data[size], 'transitions: stamp') if stamped else None
    return data[:rows * nx].reshape(rows, nx), data[rows * nx:size].reshape(steps, nu), stamp


def read_path(message):
    """
    Read positions and headings from a nav_msgs/Path.

    :param message: Path
    :return: (points (P, 2), headings (P,)) in the path's frame; P may be 0.
    :raises ValueError: for non-finite values.
    """
    points = np.array([[pose.pose.position.x, pose.pose.position.y]
                       for pose in message.poses], dtype=np.float64).reshape(-1, 2)
    headings = np.array([quaternion_to_yaw(pose.pose.orientation.x, pose.pose.orientation.y,
                                           pose.pose.orientation.z, pose.pose.orientation.w)
                         for pose in message.poses], dtype=np.float64)
    return finite_array(points, 'path points'), finite_array(headings, 'path headings')


def read_reference_path(message, name='reference'):
    """
    Rebuild a ReferencePath from a nav_msgs/Path.

    The path is closed when its last point is its first (the figure-8).

    :param message: Path with at least 2 distinct poses.
    :param name: name to give the path.
    :return: ReferencePath
    :raises ValueError: when the path has fewer than 2 points, repeats a point or is
        not finite.
    """
    points, _ = read_path(message)
    closed = len(points) > 2 and bool(np.allclose(points[0], points[-1]))
    return ReferencePath(points, name=name, closed=closed)
