"""
Property tests of the parsers of what a user or the DDS domain hands the graph.

Message readers, the condition spec and schedule, launch arguments and the graph
description: any input gives a value or ValueError (GraphError is one), nothing else.
"""

import copy

from geometry_msgs.msg import PoseStamped
from hypothesis import given, HealthCheck, settings, strategies as st
from meta_mpc_ros.paths import share_path
from meta_mpc_ros.robots.millirobot import MILLIROBOT_STATE, MOTOR_JOINTS
from meta_mpc_ros.ros import conversions
from meta_mpc_ros.ros.graph import build_graph, declared_arguments, parse_schedule
from meta_mpc_ros.sim.conditions import parse_condition
from nav_msgs.msg import Odometry, Path
import numpy as np
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray, MultiArrayDimension
import yaml

FLOATS = st.floats(width=64) | st.sampled_from([1e39, -1e39, 1e9, 1e10, 0.0, -0.0])
NAMES = st.sampled_from(list(MILLIROBOT_STATE.names) + list(MOTOR_JOINTS) + ['', 'leg'])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.text(max_size=6), children, max_size=3),
    max_leaves=8)


def accepted_or_value_error(function, *args):
    """Call function; return its value, or None when it raised ValueError."""
    try:
        return function(*args)
    except ValueError:
        return None


@settings(max_examples=200, deadline=None)
@given(st.lists(FLOATS, min_size=13, max_size=13), st.integers(0, 2 ** 31 - 1))
def test_odometry_reads_or_is_refused(values, seconds):
    message = Odometry()
    message.header.stamp.sec = seconds
    pose, twist = message.pose.pose, message.twist.twist
    (pose.position.x, pose.position.y, pose.position.z, pose.orientation.x,
     pose.orientation.y, pose.orientation.z, pose.orientation.w, twist.linear.x,
     twist.linear.y, twist.linear.z, twist.angular.x, twist.angular.y,
     twist.angular.z) = values
    read = accepted_or_value_error(conversions.read_odometry, message)
    if read is not None:
        assert all(np.all(np.abs(part) <= conversions.MAX_VALUE) for part in read[:4])


@settings(max_examples=200, deadline=None)
@given(st.lists(NAMES, max_size=4), st.lists(FLOATS, max_size=4), st.lists(FLOATS, max_size=4))
def test_joint_states_read_or_are_refused(names, positions, velocities):
    message = JointState(name=names, position=positions, velocity=velocities)
    accepted_or_value_error(conversions.read_joint_states, message, list(MOTOR_JOINTS))


@settings(max_examples=200, deadline=None)
@given(st.lists(FLOATS, max_size=4), st.lists(NAMES, max_size=20))
def test_commands_and_states_read_or_are_refused(values, names):
    command = accepted_or_value_error(conversions.read_command,
                                      Float64MultiArray(data=values), 2)
    if command is not None:
        assert command.shape == (2,) and np.all(np.abs(command) <= conversions.MAX_VALUE)
    state = JointState(name=names, position=(values * 5)[:len(names)])
    accepted_or_value_error(conversions.read_state, state, MILLIROBOT_STATE.names)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(['states', 'state', 'actions', 'action', 'x']),
                          st.integers(0, 6), st.integers(0, 40)), max_size=5),
       st.lists(FLOATS, max_size=40), st.integers(0, 3))
def test_transition_windows_read_or_are_refused(dims, data, offset):
    message = Float64MultiArray(data=data)
    message.layout.dim = [MultiArrayDimension(label=label, size=size, stride=stride)
                          for label, size, stride in dims]
    message.layout.data_offset = offset
    accepted_or_value_error(conversions.read_transitions, message, None, None)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(FLOATS, FLOATS, FLOATS, FLOATS), max_size=6))
def test_reference_paths_read_or_are_refused(poses):
    message = Path()
    for x, y, z, w in poses:
        pose = PoseStamped()
        pose.pose.position.x, pose.pose.position.y = x, y
        pose.pose.orientation.z, pose.pose.orientation.w = z, w
        message.poses.append(pose)
    accepted_or_value_error(conversions.read_reference_path, message)


CONDITION_TEXT = st.text(alphabet='abcdefghijklmnopqrstuvwxyz_=,.:;-+0123456789e ',
                         max_size=40)


@settings(max_examples=300, deadline=None)
@given(CONDITION_TEXT | st.text(max_size=20))
def test_condition_specs_parse_or_raise_value_error(text):
    accepted_or_value_error(parse_condition, text)


@settings(max_examples=300, deadline=None)
@given(CONDITION_TEXT | st.text(max_size=20))
def test_schedules_parse_or_raise_graph_error(text):
    events = accepted_or_value_error(parse_schedule, text)
    if events:
        times = [time for time, _ in events]
        assert times == sorted(set(times)) and times[0] >= 0.0


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from([spec.name for spec in declared_arguments()]),
                       st.text(max_size=12) | st.sampled_from(['true', 'false', '1.0:carpet']),
                       max_size=4))
def test_launch_arguments_give_a_graph_or_graph_error(values):
    accepted_or_value_error(build_graph, values, '/tmp/meta_mpc_property_run')


DESCRIPTION = yaml.safe_load(share_path('config', 'graph.yaml').read_text())


def paths(value, prefix=()):
    """Return the key paths of every item of a nested YAML value."""
    found = [prefix]
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    for key, child in items:
        found += paths(child, prefix + (key,))
    return found


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(paths(DESCRIPTION)[1:]), JSON)
def test_a_damaged_graph_description_gives_a_graph_or_graph_error(tmp_path, where, value):
    damaged = copy.deepcopy(DESCRIPTION)
    parent = damaged
    for key in where[:-1]:
        parent = parent[key]
    parent[where[-1]] = value
    path = tmp_path / 'graph.yaml'
    path.write_text(yaml.safe_dump(damaged))
    accepted_or_value_error(build_graph, {}, tmp_path / 'run', path)
