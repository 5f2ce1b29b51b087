"""
Conversions between ROS messages and numpy arrays; no rclpy.

Readers (`read_*`) only access attributes, so they read messages deserialized by
`rosbags` from bag files as well as live rclpy messages: live runs and offline training
from bags build the same arrays. A reader raises ValueError for a message it cannot
use (NaN, inf or beyond MAX_VALUE, wrong sizes, missing names); callers drop the
message and count it.
Writers (`*_message`) build rclpy message objects.

Topic layouts (see the README's node graph):
    /cmd                  Float64MultiArray, data = the command (nu,), no layout.
    /meta_mpc/state       JointState as a stamped named vector: name, position = values.
    /meta_mpc/transitions Float64MultiArray, layout dims states (M+1) / state (nx) /
                          actions (M) / action (nu); data = states then actions, row-major.
"""

import math

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point, PoseStamped
from meta_mpc_ros.core.reference import ReferencePath
from nav_msgs.msg import Path
import numpy as np
from sensor_msgs.msg import JointState
from std_msgs.msg import ColorRGBA, Float64MultiArray, MultiArrayDimension
from visualization_msgs.msg import Marker, MarkerArray

TRANSITION_LABELS = ('states', 'state', 'actions', 'action')
_NS_PER_S = 1_000_000_000
# No field of a message we read may exceed this (m, rad, m/s...): far beyond any
# robot, and its square still fits float32, so a value that passes cannot overflow
# the planner. Larger ones are dropped like NaN.
MAX_VALUE = 1e9


def _finite(values, what):
    """Return values as a float64 array; raise ValueError for NaN, inf or |v| > MAX_VALUE."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f'{what} is not numeric: {error}') from None
    if not np.all(np.abs(array) <= MAX_VALUE):
        raise ValueError(f'{what} has non-finite or out-of-range values (beyond '
                         f'+-{MAX_VALUE:g}): {array}')
    return array


# Stamps.

def stamp_to_nanoseconds(stamp):
    """Return a builtin_interfaces/Time (or anything with sec, nanosec) as int ns."""
    return int(stamp.sec) * _NS_PER_S + int(stamp.nanosec)


def stamp_to_seconds(stamp):
    """Return a builtin_interfaces/Time (or anything with sec, nanosec) as float s."""
    return int(stamp.sec) + int(stamp.nanosec) * 1e-9


def nanoseconds_to_stamp(nanoseconds):
    """Return a builtin_interfaces/Time for int nanoseconds (>= 0)."""
    nanoseconds = int(nanoseconds)
    if nanoseconds < 0:
        raise ValueError(f'a stamp cannot be negative: {nanoseconds} ns')
    return Time(sec=nanoseconds // _NS_PER_S, nanosec=nanoseconds % _NS_PER_S)


def seconds_to_stamp(seconds):
    """Return a builtin_interfaces/Time for float seconds (finite, >= 0)."""
    if not math.isfinite(seconds):
        raise ValueError(f'a stamp must be finite, got {seconds}')
    return nanoseconds_to_stamp(round(seconds * _NS_PER_S))


# Geometry.

def yaw_to_quaternion(yaw):
    """Return the (x, y, z, w) quaternion of a rotation by yaw (rad) about z."""
    return 0.0, 0.0, math.sin(0.5 * yaw), math.cos(0.5 * yaw)


def quaternion_to_yaw(x, y, z, w):
    """Return the yaw (rad) of a quaternion (ZYX convention)."""
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


# Odometry and joint states (sim -> state estimator, and from bags).

def read_odometry(message):
    """
    Read a nav_msgs/Odometry.

    :param message: Odometry (pose in the header frame, twist in the child frame).
    :return: (position (3,), orientation_xyzw (4,), linear_velocity (3,),
        angular_velocity (3,), stamp_s float).
    :raises ValueError: for non-finite values or a zero quaternion.
    """
    pose, twist = message.pose.pose, message.twist.twist
    position = _finite([pose.position.x, pose.position.y, pose.position.z], 'odometry position')
    orientation = _finite([pose.orientation.x, pose.orientation.y, pose.orientation.z,
                           pose.orientation.w], 'odometry orientation')
    if not np.linalg.norm(orientation) > 0.0:
        raise ValueError('odometry orientation is a zero quaternion')
    linear = _finite([twist.linear.x, twist.linear.y, twist.linear.z], 'odometry linear twist')
    angular = _finite([twist.angular.x, twist.angular.y, twist.angular.z],
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
    positions = _finite(np.asarray(message.position, dtype=np.float64)[rows],
                        'joint positions')
    velocities = _finite(np.asarray(message.velocity, dtype=np.float64)[rows],
                         'joint velocities')
    return positions, velocities


# Commands.

def command_message(command):
    """Return a Float64MultiArray holding a command vector (nu,), e.g. leg rates, rad/s."""
    values = _finite(command, 'command').reshape(-1)
    return Float64MultiArray(data=values.tolist())


def read_command(message, size=None):
    """
    Read a command vector from a Float64MultiArray.

    :param message: Float64MultiArray whose data is the command.
    :param size: expected length (nu), or None for any.
    :return: (nu,) float64.
    :raises ValueError: for a wrong length or non-finite values.
    """
    values = _finite(message.data, 'command')
    if size is not None and values.shape != (size,):
        raise ValueError(f'command has {values.size} values, expected {size}')
    return values


# State vector as a stamped named vector.

def state_message(state, names, stamp):
    """
    Return a JointState carrying a named state vector.

    :param state: (nx,) values.
    :param names: nx entry names (e.g. MILLIROBOT_STATE.names).
    :param stamp: builtin_interfaces/Time of the measurement.
    :return: JointState with name = names and position = state.
    """
    values = _finite(state, 'state').reshape(-1)
    if len(names) != values.size:
        raise ValueError(f'{len(names)} names for a state of {values.size} values')
    message = JointState(name=list(names), position=values.tolist())
    message.header.stamp = stamp
    return message


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
    values = _finite(message.position, 'state')
    if values.shape != (len(received),):
        raise ValueError(f'state has {values.size} values for {len(received)} names')
    return values, stamp_to_seconds(message.header.stamp)


# Transition windows.

def transitions_message(states, actions):
    """
    Return a Float64MultiArray holding a window of transitions.

    :param states: (M+1, nx) consecutive states.
    :param actions: (M, nu) actions taken between them.
    :return: Float64MultiArray with dims states/state/actions/action.
    """
    states = _finite(states, 'window states')
    actions = _finite(actions, 'window actions')
    if states.ndim != 2 or actions.ndim != 2 or len(states) != len(actions) + 1:
        raise ValueError(f'a window needs states (M+1, nx) and actions (M, nu), got '
                         f'{states.shape} and {actions.shape}')
    (rows, nx), (steps, nu) = states.shape, actions.shape
    message = Float64MultiArray()
    message.layout.dim = [
        MultiArrayDimension(label='states', size=rows, stride=rows * nx),
        MultiArrayDimension(label='state', size=nx, stride=nx),
        MultiArrayDimension(label='actions', size=steps, stride=steps * nu),
        MultiArrayDimension(label='action', size=nu, stride=nu)]
    message.data = np.concatenate([states.ravel(), actions.ravel()]).tolist()
    return message


def read_transitions(message, state_dim=None, action_dim=None):
    """
    Read a window of transitions from a Float64MultiArray.

    :param message: Float64MultiArray written by transitions_message.
    :param state_dim: expected nx, or None for any.
    :param action_dim: expected nu, or None for any.
    :return: (states (M+1, nx), actions (M, nu)) float64.
    :raises ValueError: for wrong labels, sizes, strides or non-finite values.
    """
    dims = list(message.layout.dim)
    labels = tuple(dim.label for dim in dims)
    if labels != TRANSITION_LABELS:
        raise ValueError(f'transitions layout labels {labels}, expected {TRANSITION_LABELS}')
    rows, nx, steps, nu = (int(dim.size) for dim in dims)
    if rows != steps + 1 or nx < 1 or nu < 1:
        raise ValueError(f'transitions: {rows} states for {steps} actions (need M+1 and M)')
    strides = tuple(int(dim.stride) for dim in dims)
    if strides != (rows * nx, nx, steps * nu, nu) or int(message.layout.data_offset) != 0:
        raise ValueError(f'transitions: strides {strides} or offset do not match a packed '
                         f'({rows}, {nx}) + ({steps}, {nu}) layout')
    if state_dim is not None and nx != state_dim:
        raise ValueError(f'transitions: state size {nx}, expected {state_dim}')
    if action_dim is not None and nu != action_dim:
        raise ValueError(f'transitions: action size {nu}, expected {action_dim}')
    data = _finite(message.data, 'transitions')
    if data.size != rows * nx + steps * nu:
        raise ValueError(f'transitions: {data.size} values, layout needs '
                         f'{rows * nx + steps * nu}')
    return data[:rows * nx].reshape(rows, nx), data[rows * nx:].reshape(steps, nu)


# Paths.

def path_message(points, headings, frame_id, stamp):
    """
    Return a nav_msgs/Path through points, each pose turned to its heading.

    :param points: (P, 2) or (P, 3) positions, m.
    :param headings: (P,) yaw of each pose, rad.
    :param frame_id: frame of the points (e.g. 'odom').
    :param stamp: builtin_interfaces/Time for the path and its poses.
    :return: Path
    """
    points = _finite(points, 'path points')
    headings = _finite(headings, 'path headings').reshape(-1)
    if points.ndim != 2 or points.shape[1] not in (2, 3) or len(headings) != len(points):
        raise ValueError(f'path needs points (P, 2 or 3) and headings (P,), got '
                         f'{points.shape} and {headings.shape}')
    message = Path()
    message.header.frame_id = frame_id
    message.header.stamp = stamp
    for point, yaw in zip(points.tolist(), headings.tolist()):
        pose = PoseStamped()
        pose.header = message.header
        pose.pose.position.x, pose.pose.position.y = point[0], point[1]
        pose.pose.position.z = point[2] if len(point) == 3 else 0.0
        orientation = pose.pose.orientation
        orientation.x, orientation.y, orientation.z, orientation.w = yaw_to_quaternion(yaw)
        message.poses.append(pose)
    return message


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
    return _finite(points, 'path points'), _finite(headings, 'path headings')


def reference_path_message(path, frame_id, stamp):
    """Return a nav_msgs/Path of a core ReferencePath (poses turned to its headings)."""
    return path_message(path.points, path.headings, frame_id, stamp)


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


def plan_message(plan, frame_id, stamp):
    """
    Return a nav_msgs/Path of a planned trajectory.

    :param plan: (H+1, 2) x, y or (H+1, 3) x, y, yaw; without yaw the poses point
        along the plan (the last segment's direction is repeated at the end, and a
        segment of zero length keeps the previous heading).
    :param frame_id: frame of the plan (e.g. 'odom').
    :param stamp: builtin_interfaces/Time.
    :return: Path
    """
    plan = _finite(plan, 'plan')
    if plan.ndim != 2 or plan.shape[1] not in (2, 3) or len(plan) < 1:
        raise ValueError(f'plan must be (H+1, 2) or (H+1, 3), got {plan.shape}')
    if plan.shape[1] == 3:
        return path_message(plan[:, :2], plan[:, 2], frame_id, stamp)
    headings = np.zeros(len(plan))
    for i, (dx, dy) in enumerate(np.diff(plan, axis=0)):
        headings[i] = math.atan2(dy, dx) if dx or dy else (headings[i - 1] if i else 0.0)
    if len(plan) > 1:
        headings[-1] = headings[-2]
    return path_message(plan, headings, frame_id, stamp)


# Sampled rollouts for rviz.

def rollouts_marker_array(rollouts, frame_id, stamp, max_lines=20, costs=None,
                          namespace='rollouts', width=0.005):
    """
    Return a MarkerArray drawing sampled rollouts as line strips, thinned.

    The first marker deletes the previous set, so fewer lines never leave stale ones.
    With costs, the `max_lines` cheapest rollouts are drawn, green (cheap) to red;
    without, evenly spaced samples in grey.

    :param rollouts: (K, H+1, 2) x, y of each sampled trajectory, m.
    :param frame_id: frame of the rollouts (e.g. 'odom').
    :param stamp: builtin_interfaces/Time.
    :param max_lines: N, the most line strips to draw.
    :param costs: optional (K,) cost of each rollout.
    :param namespace: marker namespace.
    :param width: line width, m.
    :return: MarkerArray with 1 + min(K, N) markers.
    """
    rollouts = _finite(rollouts, 'rollouts')
    if rollouts.ndim != 3 or rollouts.shape[2] != 2 or rollouts.shape[1] < 2:
        raise ValueError(f'rollouts must be (K, H+1 >= 2, 2), got {rollouts.shape}')
    if max_lines < 1:
        raise ValueError(f'max_lines must be at least 1, got {max_lines}')
    count = min(len(rollouts), int(max_lines))
    if costs is not None:
        costs = _finite(costs, 'rollout costs').reshape(-1)
        if costs.shape != (len(rollouts),):
            raise ValueError(f'{costs.size} costs for {len(rollouts)} rollouts')
        chosen = np.argsort(costs, kind='stable')[:count]
        low, high = costs[chosen[0]], costs[chosen[-1]]
        shades = (costs[chosen] - low) / (high - low) if high > low else np.zeros(count)
    else:
        chosen = np.linspace(0, len(rollouts) - 1, count).round().astype(int)
        shades = None
    clear = Marker(ns=namespace, action=Marker.DELETEALL)
    clear.header.frame_id, clear.header.stamp = frame_id, stamp
    markers = [clear]
    for marker_id, k in enumerate(chosen.tolist()):
        marker = Marker(ns=namespace, id=marker_id, type=Marker.LINE_STRIP, action=Marker.ADD)
        marker.header.frame_id, marker.header.stamp = frame_id, stamp
        marker.pose.orientation.w = 1.0
        marker.scale.x = float(width)
        if shades is None:
            marker.color = ColorRGBA(r=0.6, g=0.6, b=0.6, a=0.5)
        else:
            shade = float(shades[marker_id])
            marker.color = ColorRGBA(r=shade, g=1.0 - shade, b=0.0, a=0.6)
        marker.points = [Point(x=x, y=y, z=0.0) for x, y in rollouts[k].tolist()]
        markers.append(marker)
    return MarkerArray(markers=markers)
