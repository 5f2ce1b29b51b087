"""
Conversions between ROS messages and numpy arrays; no rclpy.

Writers (`*_message`) build rclpy message objects. The readers (`read_*`) import no
ROS package and live in meta_mpc_ros.data.readers, so that training from bags needs
no message wheels; they are re-exported here for the nodes.

The topic layouts are written once, in meta_mpc_ros.data.readers (and
docs/ros_interface.md).
"""

import math

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point, PoseStamped
from meta_mpc_ros.data.readers import (finite_array as _finite, finite_stamp, MAX_VALUE,
                                       quaternion_to_yaw, read_command, read_joint_states,
                                       read_odometry, read_path, read_reference_path,
                                       read_stamped_command, read_stamped_transitions,
                                       read_state, read_transitions, STAMP_LABEL,
                                       stamp_to_nanoseconds, stamp_to_seconds,
                                       TRANSITION_LABELS)
from nav_msgs.msg import Path
import numpy as np
from sensor_msgs.msg import JointState
from std_msgs.msg import ColorRGBA, Float64MultiArray, MultiArrayDimension
from visualization_msgs.msg import Marker, MarkerArray

__all__ = ('command_message', 'MAX_VALUE', 'nanoseconds_to_stamp', 'path_message',
           'plan_message', 'quaternion_to_yaw', 'read_command', 'read_joint_states',
           'read_odometry', 'read_path', 'read_reference_path', 'read_stamped_command',
           'read_stamped_transitions', 'read_state', 'read_transitions', 'SAME_STAMP_NS',
           'reference_path_message', 'rollouts_marker_array', 'seconds_to_stamp',
           'STAMP_LABEL', 'stamp_to_nanoseconds', 'stamp_to_seconds',
           'stamped_command_message', 'state_message', 'TRANSITION_LABELS',
           'transitions_message', 'yaw_to_quaternion')
_NS_PER_S = 1_000_000_000
# Two stamps this close (ns) are the same instant: a stamp that went through float
# seconds (a window's stamp, the estimator's sample time) comes back within it.
SAME_STAMP_NS = 1000


# Stamps.

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


# Commands.

def command_message(command):
    """Return a Float64MultiArray holding a command vector (nu,), e.g. leg rates, rad/s."""
    values = _finite(command, 'command').reshape(-1)
    return Float64MultiArray(data=values.tolist())


def _named_vector(values, names, stamp, field, what):
    """Return a JointState stamped `stamp` whose `field` holds `values` under `names`."""
    values = _finite(values, what).reshape(-1)
    if len(names) != values.size:
        raise ValueError(f'{len(names)} names for a {what} of {values.size} values')
    message = JointState(name=list(names), **{field: values.tolist()})
    message.header.stamp = stamp
    return message


def stamped_command_message(command, names, stamp):
    """
    Return a JointState carrying a command, stamped with the state it answers.

    :param command: (nu,) values (velocity).
    :param names: nu entry names (the commanded joints).
    :param stamp: builtin_interfaces/Time.
    """
    return _named_vector(command, names, stamp, 'velocity', 'command')


# State vector as a stamped named vector.

def state_message(state, names, stamp):
    """
    Return a JointState carrying a named state vector.

    :param state: (nx,) values.
    :param names: nx entry names (e.g. MILLIROBOT_STATE.names).
    :param stamp: builtin_interfaces/Time of the measurement.
    :return: JointState with name = names and position = state.
    """
    return _named_vector(state, names, stamp, 'position', 'state')


# Transition windows.

def transitions_message(states, actions, stamp=None):
    """
    Return a Float64MultiArray holding a window of transitions.

    :param states: (M+1, nx) consecutive states.
    :param actions: (M, nu) actions taken between them.
    :param stamp: the newest state's stamp, s, or None: then no stamp dimension.
    :return: Float64MultiArray with dims states/state/actions/action[/stamp].
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
    values = [states.ravel(), actions.ravel()]
    if stamp is not None:
        message.layout.dim.append(MultiArrayDimension(label=STAMP_LABEL, size=1, stride=1))
        values.append([finite_stamp(stamp, 'window stamp')])
    message.data = np.concatenate(values).tolist()
    return message


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


def reference_path_message(path, frame_id, stamp):
    """Return a nav_msgs/Path of a core ReferencePath (poses turned to its headings)."""
    return path_message(path.points, path.headings, frame_id, stamp)


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
