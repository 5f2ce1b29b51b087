"""
bag_recorder: write the system's topics to a rosbag2 bag (here `ros2 bag` is missing).

Like `ros2 bag record`, it discovers each topic's type from the graph as publishers
appear, subscribes with the publishers' reliability and durability, and stores the
serialized bytes as they arrive (`raw=True`: no deserialize/serialize round trip).
The robot's command topic (its description's command interface, of the `robot`
parameter) is subscribed at start, and a wanted topic that another node already
subscribes to is subscribed before its first publisher appears (with a QoS that
hears whatever those subscribers hear), so the first messages of a late publisher,
such as the controller's first commands, are not lost to discovery; the topic enters
the bag with its publishers' QoS at its first message.

Timestamps are the receive time on the node's clock, as `ros2 bag record` stamps
them: wall time, or /clock time with use_sim_time (messages that arrive before the
first /clock are dropped and counted). Header stamps are not used: half of our
topics have no header.

Crash safety: the bag is flushed every `flush_period_s` seconds of wall time (a
steady-clock timer, so a paused simulation does not stop it), so a SIGKILL loses at
most that much; SIGINT, SIGTERM and shutdown close the bag and write metadata.yaml.
A killed recording is read as it is by `meta_mpc_ros.data.bag_reader`, and
`python -m meta_mpc_ros.data.bag_repair BAG` makes it readable by other tools.
"""

import functools
import importlib
import os
import pathlib
import re
import sys
import time

from meta_mpc_ros.data.bag_reader import store_for_distro
from meta_mpc_ros.data.bag_writer import BagWriter
from meta_mpc_ros.robots import DEFAULT_ROBOT, robot_description, ROBOTS
from meta_mpc_ros.ros.node_tools import run_node, StatusReporter
from meta_mpc_ros.ros.parameters import declare_parameters, ParameterSpec
from rclpy.clock import Clock, ClockType
from rclpy.exceptions import ParameterException
from rclpy.logging import get_logger
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness, QosReliability,
                                QosTime)
from rosbags.typesys import get_typestore, Stores
from rosgraph_msgs.msg import Clock as ClockMessage

DEFAULT_TOPICS = ['/odom', '/joint_states', '/cmd', '/cmd_vel', '/meta_mpc/terrain',
                  '/meta_mpc/state', '/meta_mpc/transitions', '/meta_mpc/reference',
                  '/meta_mpc/plan', '/diagnostics']
DISCOVERY_PERIOD_S = 0.5
SUBSCRIPTION_DEPTH = 200
# The QoS of a topic subscribed before any endpoint tells it what publishers offer.
COMMAND_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=SUBSCRIPTION_DEPTH,
                         reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.VOLATILE)
# Best effort matches any /clock publisher (rclpy's time source subscribes so too).
CLOCK_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                       reliability=ReliabilityPolicy.BEST_EFFORT)
# Typestores tried, in order, after the one of $ROS_DISTRO.
FALLBACK_STORES = (Stores.ROS2_HUMBLE, Stores.ROS2_JAZZY, Stores.ROS2_KILTED, Stores.LATEST)


def _check_topics(topics):
    """Return why a topic list is invalid, or None."""
    if not topics:
        return 'topics: give at least one topic'
    bad = [topic for topic in topics if not isinstance(topic, str) or not topic.startswith('/')]
    return f'topics: not absolute topic names: {bad}' if bad else None


def _check_output_dir(path):
    """Return why an output directory cannot be used, or None."""
    if path and pathlib.Path(path).exists():
        return f'output_dir: {path} exists already (a bag is never overwritten)'
    return None


PARAMETERS = (
    ParameterSpec('robot', DEFAULT_ROBOT, 'Robot of the graph (a key of robots.ROBOTS): its '
                  'command topic, when wanted, is subscribed at start with the message type '
                  "of its description's command interface, so that the first commands are "
                  'recorded.', choices=ROBOTS),
    ParameterSpec('topics', DEFAULT_TOPICS,
                  'Topics to record (absolute names); each is subscribed when a publisher '
                  'appears, with the type the graph reports.', check=_check_topics),
    ParameterSpec('output_dir', '',
                  'Bag directory to create; empty: runs/bags/<YYYYmmdd_HHMMSS> under the '
                  'working directory.', check=_check_output_dir),
    ParameterSpec('storage', 'mcap', 'rosbag2 storage plugin of the bag.',
                  choices=('mcap', 'sqlite3')),
    ParameterSpec('flush_period_s', 0.5,
                  'Wall-clock seconds between flushes: the most a crash (SIGKILL) loses.',
                  bounds=(0.05, 0.9)),
)


def default_output_dir():
    """Return runs/bags/<YYYYmmdd_HHMMSS>, with a suffix if that exists already."""
    base = pathlib.Path('runs') / 'bags' / time.strftime('%Y%m%d_%H%M%S')
    path, number = base, 0
    while path.exists():
        number += 1
        path = base.with_name(f'{base.name}_{number}')
    return path


def message_class(msgtype):
    """Return the rclpy message class of 'pkg/msg/Name'."""
    package, kind, name = msgtype.split('/')
    return getattr(importlib.import_module(f'{package}.{kind}'), name)


def _same_fields(cls, msgtype, typestore, seen):
    """Return whether typestore defines msgtype (and nested types) with the class's fields."""
    if msgtype in seen:
        return True
    seen.add(msgtype)
    if msgtype not in typestore.fielddefs:
        return False
    fields = cls.get_fields_and_field_types()
    if [name.lower() for name, _ in typestore.fielddefs[msgtype][1]] != list(fields):
        return False
    for text in fields.values():
        nested = re.search(r'([A-Za-z0-9_]+)/([A-Za-z0-9_]+)', text)
        if nested:
            package, name = nested.groups()
            sub = getattr(importlib.import_module(f'{package}.msg'), name)
            if not _same_fields(sub, f'{package}/msg/{name}', typestore, seen):
                return False
    return True


def _time(duration):
    """Return an rclpy Duration as rosbags QosTime."""
    seconds, nanoseconds = divmod(duration.nanoseconds, 10**9)
    return QosTime(seconds, nanoseconds)


def _enum(kind, value):
    """Return rosbags' QoS enum member with the same rmw value, or UNKNOWN."""
    try:
        return kind(int(value))
    except ValueError:
        return kind.UNKNOWN


def offered_qos(profile):
    """Return an rclpy QoSProfile as rosbags Qos (stored in the bag for replay)."""
    return Qos(_enum(QosHistory, profile.history), profile.depth,
               _enum(QosReliability, profile.reliability),
               _enum(QosDurability, profile.durability), _time(profile.deadline),
               _time(profile.lifespan), _enum(QosLiveliness, profile.liveliness),
               _time(profile.liveliness_lease_duration),
               bool(profile.avoid_ros_namespace_conventions))


def subscription_qos(profiles):
    """Return a QoS compatible with every offered profile (as `ros2 bag record` adapts)."""
    reliable = all(p.reliability == ReliabilityPolicy.RELIABLE for p in profiles)
    latched = all(p.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in profiles)
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=SUBSCRIPTION_DEPTH,
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)


class BagRecorder(Node):
    """Record topics into a bag; see the module docstring."""

    def __init__(self, **kwargs):
        """Declare the parameters, create the bag and start discovering topics."""
        super().__init__('bag_recorder', **kwargs)
        values = declare_parameters(self, PARAMETERS)
        self._wanted = list(dict.fromkeys(values['topics']))
        own = store_for_distro(os.environ.get('ROS_DISTRO'), None)
        self._stores = [get_typestore(store) for store in dict.fromkeys(
            ([own] if own else []) + list(FALLBACK_STORES))]
        self._recording = {}
        # Subscribed before any publisher: topic -> (msgtype, typestore, QoSProfile).
        self._early = {}
        self._skipped = set()
        self.dropped = 0
        self.write_errors = 0
        use_sim_time = self.get_parameter('use_sim_time').value
        self._writer = BagWriter(
            values['output_dir'] or default_output_dir(), values['storage'],
            values['flush_period_s'], self._stores[0],
            {'recorder': 'meta_mpc_ros bag_recorder',
             'timestamps': 'receive time, ' + ('/clock' if use_sim_time else 'system clock')})
        self.get_logger().info(
            f'recording to {self._writer.path.resolve()} ({values["storage"]}, flushed every '
            f'{values["flush_period_s"]} s); waiting for {", ".join(self._wanted)}')
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(values['flush_period_s'], self.flush, clock=steady)
        self.create_timer(DISCOVERY_PERIOD_S, self.discover, clock=steady)
        command = robot_description(values['robot']).command_interface
        if command.topic in self._wanted:
            self._subscribe(command.topic, [command.message_type], [], early=True,
                            qos=COMMAND_QOS)
        # With use_sim_time, what comes before the first /clock has no time to be stamped
        # with; sim time 0 itself is a time (a lockstep simulator stands at t = 0 until the
        # controller's first answer), so the first /clock is watched, not the value 0.
        self._clock_seen = not use_sim_time
        if use_sim_time:
            self.create_subscription(ClockMessage, '/clock', self._on_clock, CLOCK_QOS)
        self.discover()
        StatusReporter(self, 'recording', self.status)

    def _on_clock(self, message):
        """Note the first /clock (rclpy's time source sets the clock itself)."""
        self._clock_seen = True

    @property
    def bag_path(self):
        """Return the bag directory."""
        return self._writer.path

    def discover(self):
        """Subscribe to every wanted topic that has a publisher, or another subscriber."""
        graph = dict(self.get_topic_names_and_types())
        for topic in self._wanted:
            # A remapped topic (-r /odom:=/robot/odom) is found under its new name and
            # recorded under the name asked for, so the bag keeps the graph's names.
            resolved = self.resolve_topic_name(topic)
            settled = topic in self._recording and topic not in self._early
            if settled or topic in self._skipped or resolved not in graph:
                continue
            publishers = self.get_publishers_info_by_topic(topic)
            if topic in self._early:
                if publishers:
                    self._match(topic, publishers)
            elif publishers:
                self._subscribe(topic, graph[resolved], publishers)
            else:
                others = [endpoint for endpoint in self.get_subscriptions_info_by_topic(topic)
                          if endpoint.node_name != self.get_name()]
                if others:
                    self._subscribe(topic, graph[resolved], others, early=True)

    def _match(self, topic, publishers):
        """Subscribe again if the early QoS cannot hear these publishers (no message yet)."""
        msgtype, typestore, qos = self._early[topic]
        wanted = subscription_qos([endpoint.qos_profile for endpoint in publishers])
        if (wanted.reliability, wanted.durability) == (qos.reliability, qos.durability):
            return
        self.destroy_subscription(self._recording[topic])
        self._early[topic] = (msgtype, typestore, wanted)
        self._listen(topic, message_class(msgtype), wanted)

    def _listen(self, topic, cls, qos):
        """Subscribe to a topic's serialized messages with a QoS."""
        self._recording[topic] = self.create_subscription(
            cls, topic, functools.partial(self._on_message, topic), qos, raw=True)

    def _typestore(self, cls, msgtype):
        """Return the first typestore whose definition matches the installed message."""
        for typestore in self._stores:
            if _same_fields(cls, msgtype, typestore, set()):
                return typestore
        raise ValueError(f'no rosbags typestore defines {msgtype} as this ROS installation does')

    def _subscribe(self, topic, msgtypes, endpoints, early=False, qos=None):
        """
        Subscribe to a topic's serialized messages and add it to the bag.

        :param endpoints: its publishers, or, when early, the other nodes' subscriptions
            (the topic is then added to the bag at its first message).
        :param qos: the subscription's QoS (None: one that hears every endpoint's).
        """
        msgtype = msgtypes[0]
        if len(msgtypes) > 1:
            self.get_logger().warning(f'{topic} has several types {msgtypes}; recording '
                                      f'{msgtype} only')
        try:
            cls = message_class(msgtype)
            typestore = self._typestore(cls, msgtype)
        except (ImportError, AttributeError, ValueError) as err:
            self.get_logger().error(f'cannot record {topic}: {err}')
            self._skipped.add(topic)
            return
        profiles = [endpoint.qos_profile for endpoint in endpoints]
        qos = qos or subscription_qos(profiles)
        if early:
            self._early[topic] = (msgtype, typestore, qos)
        else:
            self._writer.add_topic(topic, msgtype, [offered_qos(p) for p in profiles],
                                   typestore)
        self._listen(topic, cls, qos)
        self.get_logger().info(f'recording {topic} ({msgtype})' +
                               (' before its first publisher' if early else ''))

    def _add_early(self, topic):
        """Add an early-subscribed topic to the bag, with its publishers' QoS if known."""
        msgtype, typestore, qos = self._early.pop(topic)
        profiles = [endpoint.qos_profile
                    for endpoint in self.get_publishers_info_by_topic(topic)] or [qos]
        self._writer.add_topic(topic, msgtype, [offered_qos(p) for p in profiles], typestore)

    def _on_message(self, topic, data):
        """Write one serialized message with its receive time."""
        if topic in self._early and not self._writer.closed:
            self._add_early(topic)
        if not self._clock_seen:
            self.dropped += 1
            self.get_logger().warning('no /clock yet (use_sim_time): dropping messages',
                                      throttle_duration_sec=5.0)
            return
        stamp = self.get_clock().now().nanoseconds
        if not self._writer.closed:
            try:
                self._writer.write(topic, stamp, data)
            except (OSError, ValueError) as error:      # e.g. the disk is full
                self._write_failed(error)

    def flush(self):
        """Flush the bag to disk (what a crash keeps)."""
        try:
            self._writer.flush()
        except (OSError, ValueError) as error:
            self._write_failed(error)

    def _write_failed(self, error):
        """Count a failed write and say so (throttled)."""
        self.write_errors += 1
        self.get_logger().error(f'bag write failed ({self.write_errors} so far): {error}',
                                throttle_duration_sec=5.0)

    def status(self):
        """Return this node's /diagnostics status: (level, message, values)."""
        values = {'messages': self._writer.message_count, 'topics': len(self._recording),
                  'dropped_before_clock': self.dropped, 'write_errors': self.write_errors,
                  'dropped_messages': self.dropped + self.write_errors}
        if self.write_errors:
            return 'error', f'{self.write_errors} bag writes failed', values
        return 'ok', f'recording {len(self._recording)} topics', values

    def close(self):
        """Close the bag (metadata.yaml written); closing twice is a no-op."""
        if not self._writer.closed:
            self._writer.close()
            # Not the node's logger: after SIGINT its /rosout publisher is gone.
            get_logger(self.get_name()).info(
                f'closed {self._writer.path.resolve()}: {self._writer.message_count} messages '
                f'on {len(self._writer.topics)} topics, {self.dropped} dropped before /clock')


def main(args=None):
    """
    Run the recorder until SIGINT, SIGTERM or shutdown, then close the bag.

    :param args: command-line arguments for rclpy (None: sys.argv).
    :return: 0, or 1 when the recorder could not start.
    """
    return run_node(BagRecorder, args, start_errors=(ParameterException, ValueError,
                                                     FileExistsError), start_status=1)


if __name__ == '__main__':
    sys.exit(main())
