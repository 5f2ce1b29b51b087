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
"""

import bisect
import logging

from meta_mpc_ros.core.dataset import Trajectory, TrajectoryDataset
from meta_mpc_ros.core.estimator import StateEstimator
from meta_mpc_ros.core.millirobot import MILLIROBOT_ACTION, MOTOR_JOINTS
from meta_mpc_ros.data.bag_reader import load_messages
from meta_mpc_ros.ros import conversions
import numpy as np

TOPICS = ('/odom', '/joint_states', '/cmd', '/meta_mpc/terrain')
LOGGER = logging.getLogger(__name__)


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


def samples_from_messages(messages, control_dt, window, motor_joints=MOTOR_JOINTS):
    """
    Replay messages through the state estimator.

    :param messages: BagMessage iterable in time order (topic, msgtype, timestamp_ns, msg).
    :return: (samples list of core.estimator.Sample, label events [(s, label)], drops)
    """
    estimator = StateEstimator(control_dt, window)
    samples, events, drops = [], [], 0
    for item in messages:
        received = item.timestamp_ns * 1e-9
        try:
            if item.topic == '/odom':
                position, orientation, linear, angular, stamp = \
                    conversions.read_odometry(item.message)
                estimator.on_odometry(stamp, position, orientation, linear, angular)
            elif item.topic == '/joint_states':
                angles, rates = conversions.read_joint_states(item.message, motor_joints)
                estimator.on_joints(conversions.stamp_to_seconds(item.message.header.stamp),
                                    angles, rates)
            elif item.topic == '/cmd':
                estimator.on_command(received, conversions.read_command(
                    item.message, MILLIROBOT_ACTION.dim))
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


def dataset_from_bags(paths, control_dt, window=16, label_topic='/meta_mpc/terrain',
                      segments=None, robot='millirobot'):
    """
    Build a TrajectoryDataset from rosbag2 directories.

    :param paths: bag directories (sqlite3 or mcap).
    :param control_dt: the control period to sample at, s.
    :param segments: optional [(start_s, end_s, label)] instead of recorded labels.
    :return: TrajectoryDataset (metadata lists the bags and any read problems).
    """
    topics = tuple(topic for topic in TOPICS if topic != '/meta_mpc/terrain') + (label_topic,)
    messages, problems = load_messages([str(path) for path in paths], topics=topics)
    for problem in problems:
        LOGGER.warning('bag problem (readable messages kept): %s', problem)
    if label_topic != '/meta_mpc/terrain':
        messages = [m._replace(topic='/meta_mpc/terrain') if m.topic == label_topic else m
                    for m in messages]
    samples, events, drops = samples_from_messages(messages, control_dt, window)
    trajectories = trajectories_from_samples(samples, Labeller(events, segments))
    if not trajectories:
        raise ValueError(f'no usable trajectories in {[str(p) for p in paths]} (need /odom, '
                         '/joint_states and /cmd)')
    return TrajectoryDataset(trajectories, {
        'robot': robot, 'bags': [str(path) for path in paths], 'control_dt': control_dt,
        'dropped_messages': drops, 'problems': [str(problem) for problem in problems],
        'labels': sorted({t.task for t in trajectories})})
