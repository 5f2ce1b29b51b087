"""
Rebuild a training dataset from rosbag2 recordings.

Messages are replayed in time order through core.estimator.StateEstimator, exactly as
the state_estimator_node processes them live, so the state vectors are identical to
the ones the live graph published (a test checks this against recorded
/meta_mpc/state). Trajectories are cut where the task changes: where the recorded
terrain label (/meta_mpc/terrain) changes, where a given segmentation says so, and
at gaps in the data. Works with bags from our recorder and from `ros2 bag record`
(sqlite3 or mcap); damaged bags keep their readable messages, with a warning naming
the file.

A bag from another robot names its topics and joints its own way: `topics` maps the
robot contract's roles (odom, joint_states, cmd, terrain) to the bag's topic names and
`motor_joints` names the robot's measured joints (its description's, robots.ROBOTS, by
default). The commands are read as the robot's command interface says (its topic,
/cmd or /cmd_vel, is the cmd role's default; Float64MultiArray, or Twist and
TwistStamped for a mobile base); a robot that reads no joints needs no /joint_states.
A bag that lacks a needed topic (or has it with another type) raises BagTopicError,
one line naming what is missing and every topic the bag has, with its type.
"""

import bisect
import logging

from meta_mpc_ros.core.dataset import Trajectory, TrajectoryDataset
from meta_mpc_ros.core.estimator import StateEstimator
from meta_mpc_ros.data import readers
from meta_mpc_ros.data.bag_reader import BagReader, load_messages
from meta_mpc_ros.robots import DEFAULT_ROBOT, robot_description
import numpy as np

TOPICS = ('/odom', '/joint_states', '/cmd', '/meta_mpc/terrain')
# The robot contract's topics for training: role -> (topic in our graph, message type).
ROBOT_TOPICS = {
    'odom': ('/odom', 'nav_msgs/msg/Odometry'),
    'joint_states': ('/joint_states', 'sensor_msgs/msg/JointState'),
    'cmd': ('/cmd', 'std_msgs/msg/Float64MultiArray'),
    'terrain': ('/meta_mpc/terrain', 'std_msgs/msg/String'),   # optional: task labels
}
REQUIRED_ROLES = ('odom', 'joint_states', 'cmd')
LOGGER = logging.getLogger(__name__)


class BagTopicError(ValueError):
    """A bag lacks a topic or joint that training needs; the message says what it has."""


def parse_topic_remaps(items):
    """
    Read topic remaps 'ROLE:=TOPIC' (e.g. 'odom:=/robot/odom') into a dict.

    ROLE is one of ROBOT_TOPICS or its topic in our graph ('/odom' works as 'odom').

    :param items: iterable of str.
    :return: dict role -> topic name.
    :raises ValueError: for a malformed item, an unknown role or a role given twice.
    """
    by_topic = {topic: role for role, (topic, _) in ROBOT_TOPICS.items()}
    remaps = {}
    for item in items:
        source, separator, target = item.partition(':=')
        role = by_topic.get(source.strip(), source.strip())
        if not separator or not target.strip().startswith('/'):
            raise ValueError(f'--topic {item!r}: expected ROLE:=/TOPIC, e.g. odom:=/robot/odom')
        if role not in ROBOT_TOPICS:
            raise ValueError(f'--topic {item!r}: {source!r} is not one of '
                             f'{", ".join(ROBOT_TOPICS)}')
        if role in remaps:
            raise ValueError(f'--topic: {role} is given twice')
        remaps[role] = target.strip()
    return remaps


def required_roles(description):
    """Return the roles a robot's bags need: REQUIRED_ROLES, less joints it never reads."""
    return tuple(role for role in REQUIRED_ROLES
                 if role != 'joint_states' or description.joints)


def role_types(description):
    """Return role -> the message types its topic may have, for a robot."""
    types = {role: (msgtype,) for role, (_, msgtype) in ROBOT_TOPICS.items()}
    types['cmd'] = description.command_interface.message_types
    return types


def bag_topic_names(topics=None, label_topic=None, robot=DEFAULT_ROBOT):
    """Return role -> topic name in the bag: the contract's names, then the remaps."""
    names = {role: topic for role, (topic, _) in ROBOT_TOPICS.items()}
    names['cmd'] = robot_description(robot).command_interface.topic
    if label_topic is not None:
        names['terrain'] = label_topic
    names.update(topics or {})
    doubled = {topic for topic in names.values() if list(names.values()).count(topic) > 1}
    if doubled:
        raise ValueError(f'topics {sorted(doubled)} are given for more than one role')
    return names


def check_bag_topics(path, available, names, robot=DEFAULT_ROBOT):
    """
    Check that a bag has every required topic with its contract type.

    :param path: the bag, for the message.
    :param available: {topic: msgtype} of the bag.
    :param names: role -> topic name in the bag.
    :param robot: the robot's name (robots.ROBOTS): its joints and command interface.
    :raises BagTopicError: naming the missing or mistyped topics and all the bag has.
    """
    description = robot_description(robot)
    types = role_types(description)
    wrong = []
    for role in required_roles(description):
        expected = ' or '.join(types[role])
        found = available.get(names[role])
        if found is None:
            wrong.append(f'{names[role]} ({expected}) for {role}')
        elif found not in types[role]:
            wrong.append(f'{names[role]} as {expected} for {role} (it is {found}, which '
                         f'{robot} does not read as its commands)' if role == 'cmd' else
                         f'{names[role]} as {expected} for {role} (it is {found})')
    if wrong:
        has = ', '.join(f'{topic} ({msgtype})' for topic, msgtype in sorted(available.items()))
        raise BagTopicError(f'bag {path} lacks {"; ".join(wrong)}; it has {has or "no topics"}'
                            "; map the robot's topics with --topic ROLE:=TOPIC")


def check_contract(path, messages, names, motor_joints, action):
    """Raise BagTopicError if the joint states lack the joints or commands are mis-sized."""
    joints = next((m.message for m in messages if m.topic == '/joint_states'), None)
    if joints is not None and not set(motor_joints) <= set(joints.name):
        raise BagTopicError(f'bag {path}: {names["joint_states"]} has no joints '
                            f'{[j for j in motor_joints if j not in joints.name]} (it has '
                            f"{list(joints.name)}); name the robot's joints "
                            f'{list(motor_joints)} with --joints '
                            f'{",".join(name.upper() for name in motor_joints)}')
    command = next((m for m in messages if m.topic == '/cmd'), None)
    size = 2 if command is None or command.msgtype != ROBOT_TOPICS['cmd'][1] else \
        len(command.message.data)
    if size != action.dim:
        raise BagTopicError(f'bag {path}: {names["cmd"]} carries {size} values, '
                            f'the robot takes {action.dim} ([{", ".join(action.names)}])')


class Labeller:
    """The task label at any time, from label events or fixed segments."""

    def __init__(self, events=(), segments=None):
        self.segments = sorted(segments) if segments else None
        self.times = [time for time, _ in events]
        self.labels = [label for _, label in events]

    def __call__(self, stamp):
        """Return the label at `stamp` (s), or None when no task is defined there."""
        if self.segments is not None:
            for start, end, label in self.segments:
                if start <= stamp < end:
                    return str(label)
            return None
        index = bisect.bisect_right(self.times, stamp) - 1
        return self.labels[index] if index >= 0 else 'unlabelled'


def samples_from_messages(messages, control_dt, window, robot=DEFAULT_ROBOT, motor_joints=None):
    """
    Replay messages through the state estimator.

    :param messages: BagMessage iterable in time order (topic, msgtype, timestamp_ns, msg).
    :param robot: the robot's name (robots.ROBOTS): its description builds the states.
    :param motor_joints: the JointState names of its measured joints, or None for its own.
    :return: (samples list of core.estimator.Sample, label events [(s, label)], drops)
    """
    description = robot_description(robot)
    motor_joints = tuple(motor_joints or description.joints)
    estimator = StateEstimator(description, control_dt, window)
    samples, events, drops = [], [], 0
    for item in messages:
        received = item.timestamp_ns * 1e-9
        try:
            if item.topic == '/odom':
                position, orientation, linear, angular, stamp = \
                    readers.read_odometry(item.message)
                estimator.on_odometry(stamp, position, orientation, linear, angular)
            elif item.topic == '/joint_states':
                angles, rates = readers.read_joint_states(item.message, motor_joints)
                estimator.on_joints(readers.stamp_to_seconds(item.message.header.stamp),
                                    angles, rates)
            elif item.topic == '/cmd':
                estimator.on_command(received, readers.COMMAND_READERS[item.msgtype](
                    item.message, description.action.dim))
                continue
            elif item.topic == '/meta_mpc/terrain':
                if not events or events[-1][1] != item.message.data:
                    events.append((received, item.message.data))
                continue
            else:
                continue
            sample = estimator.try_sample()
        except ValueError:
            drops += 1
            continue
        if sample is not None:
            samples.append(sample)
    return samples, events, drops


def trajectories_from_samples(samples, labeller):
    """Cut samples into single-task trajectories (at label changes and restarts)."""
    trajectories, states, actions, label = [], [], [], None

    def close():
        if len(states) >= 2:
            trajectories.append(Trajectory(np.array(states), np.array(actions), label))

    for sample in samples:
        here = labeller(sample.stamp)
        if sample.closed_action is None or here != label or here is None:
            close()
            states, actions, label = [], [], here
            if here is None:
                continue
            states.append(sample.state)
            continue
        actions.append(sample.closed_action)
        states.append(sample.state)
    close()
    return trajectories


def dataset_from_bags(paths, control_dt, window=16, label_topic=None, segments=None,
                      robot=DEFAULT_ROBOT, topics=None, motor_joints=None):
    """
    Build a TrajectoryDataset from rosbag2 directories.

    :param paths: bag directories (sqlite3 or mcap).
    :param control_dt: the control period to sample at, s.
    :param label_topic: topic of the task labels (default /meta_mpc/terrain).
    :param segments: optional [(start_s, end_s, label)] instead of recorded labels.
    :param topics: role -> topic name in the bags, for those named differently (roles
        as in ROBOT_TOPICS); e.g. {'odom': '/robot/odom'}.
    :param robot: the robot's name (robots.ROBOTS): its description builds the states.
    :param motor_joints: JointState names of its measured joints, in its description's
        order; None: the description's names.
    :return: TrajectoryDataset (metadata lists the bags and any read problems).
    :raises BagTopicError: when a bag lacks a needed topic or joint.
    """
    names = bag_topic_names(topics, label_topic, robot)
    description = robot_description(robot)
    motor_joints = tuple(motor_joints or description.joints)
    paths = [str(path) for path in paths]
    for path in paths:
        with BagReader([path], strict=False) as reader:
            check_bag_topics(path, reader.topics, names, robot)
    canonical = {names[role]: topic for role, (topic, _) in ROBOT_TOPICS.items()}
    messages, problems = load_messages(paths, topics=tuple(canonical))
    for problem in problems:
        LOGGER.warning('bag problem (readable messages kept): %s', problem)
    messages = [m._replace(topic=canonical[m.topic]) for m in messages]
    check_contract(', '.join(paths), messages, names, motor_joints, description.action)
    samples, events, drops = samples_from_messages(messages, control_dt, window, robot,
                                                   motor_joints)
    trajectories = trajectories_from_samples(samples, Labeller(events, segments))
    if not trajectories:
        needed = ', '.join(names[role] for role in required_roles(description))
        raise ValueError(f'no usable trajectories in {paths} (need {needed})')
    return TrajectoryDataset(trajectories, {
        'robot': robot, 'bags': paths, 'control_dt': control_dt,
        'dropped_messages': drops, 'problems': [str(problem) for problem in problems],
        'labels': sorted({t.task for t in trajectories}), 'topics': names,
        'motor_joints': list(motor_joints)})
