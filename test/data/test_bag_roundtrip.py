"""BagWriter and the bag reader: values survive a round trip through mcap and sqlite3."""

import pathlib

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Point, PoseStamped
from meta_mpc_ros.data.bag_reader import BagReader, read_messages
from meta_mpc_ros.data.bag_writer import BagWriter
from nav_msgs.msg import Odometry, Path
import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from rosbags.highlevel import AnyReader
from rosbags.typesys import get_typestore, Stores
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray, MultiArrayDimension, String, UInt8MultiArray
from visualization_msgs.msg import Marker, MarkerArray
import yaml

TYPESTORE = get_typestore(Stores.ROS2_HUMBLE)


def sample_messages():
    """Return [(topic, msgtype, timestamp_ns, rclpy message)] of every type we record."""
    odometry = Odometry(child_frame_id='base_link')
    odometry.header.frame_id = 'odom'
    odometry.header.stamp.sec, odometry.header.stamp.nanosec = 12, 345
    odometry.pose.pose.position.x, odometry.pose.pose.orientation.w = 1.5, 1.0
    odometry.pose.covariance[0] = 0.125
    odometry.twist.twist.angular.z = -0.25
    joints = JointState(name=['left', 'right'], position=[0.5, -0.5], velocity=[2.0, 3.0])
    command = Float64MultiArray(data=[0.25, -1.0])
    command.layout.dim = [MultiArrayDimension(label='sides', size=2, stride=2)]
    path = Path(poses=[PoseStamped(), PoseStamped()])
    path.header.frame_id = 'odom'
    path.poses[1].pose.position.y = 2.0
    markers = MarkerArray(markers=[Marker(ns='rollouts', id=3, text='best',
                                          points=[Point(x=1.0), Point(y=-2.0)])])
    diagnostics = DiagnosticArray(status=[DiagnosticStatus(
        level=DiagnosticStatus.WARN, name='mppi', message='model age 0.3 s',
        values=[KeyValue(key='compute_ms', value='4.2')])])
    clock = Clock()
    clock.clock.sec = 1000
    return [
        ('/clock', 'rosgraph_msgs/msg/Clock', 1_000, clock),
        ('/odom', 'nav_msgs/msg/Odometry', 2_000, odometry),
        ('/joint_states', 'sensor_msgs/msg/JointState', 2_000, joints),
        ('/cmd', 'std_msgs/msg/Float64MultiArray', 3_000, command),
        ('/meta_mpc/terrain', 'std_msgs/msg/String', 4_000, String(data='carpet')),
        ('/meta_mpc/model', 'std_msgs/msg/UInt8MultiArray', 5_000,
         UInt8MultiArray(data=bytes([0, 1, 254, 255]))),
        ('/meta_mpc/reference', 'nav_msgs/msg/Path', 6_000, path),
        ('/meta_mpc/rollouts', 'visualization_msgs/msg/MarkerArray', 7_000, markers),
        ('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray', 8_000, diagnostics),
        ('/odom', 'nav_msgs/msg/Odometry', 9_000, odometry),
    ]


def write_sample(bag, storage):
    """Write the sample messages as rclpy-serialized CDR bytes, as the recorder does."""
    with BagWriter(bag, storage) as writer:
        for topic, msgtype, timestamp, message in sample_messages():
            writer.add_topic(topic, msgtype)
            writer.write(topic, timestamp, serialize_message(message))
    return bag


def as_rclpy(message, original):
    """Return a rosbags message as the rclpy message it encodes (through CDR)."""
    data = bytes(TYPESTORE.serialize_cdr(message, message.__msgtype__))
    return deserialize_message(data, type(original))


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_every_recorded_type_round_trips(tmp_path, storage):
    bag = write_sample(tmp_path / 'bag', storage)
    expected = sample_messages()
    read = list(read_messages(bag))
    assert [(m.topic, m.msgtype, m.timestamp_ns) for m in read] == \
        [(topic, msgtype, stamp) for topic, msgtype, stamp, _ in expected]
    for message, (_, _, _, original) in zip(read, expected):
        # rclpy messages compare every field, arrays included.
        assert as_rclpy(message.message, original) == original, message.topic
    odometry = read[1].message
    assert odometry.pose.pose.position.x == 1.5 and odometry.pose.covariance[0] == 0.125
    assert read[2].message.name == ['left', 'right']
    assert list(read[5].message.data) == [0, 1, 254, 255]


def test_mcap_and_sqlite3_read_back_identically(tmp_path):
    mcap = list(read_messages(write_sample(tmp_path / 'a', 'mcap')))
    sqlite = list(read_messages(write_sample(tmp_path / 'b', 'sqlite3')))
    assert len(mcap) == len(sqlite) == len(sample_messages())
    for left, right in zip(mcap, sqlite):
        assert left[:3] == right[:3]
        assert bytes(TYPESTORE.serialize_cdr(left.message, left.msgtype)) == \
            bytes(TYPESTORE.serialize_cdr(right.message, right.msgtype))


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_metadata_is_version_8_and_rosbags_reads_the_bag(tmp_path, storage):
    bag = write_sample(tmp_path / 'bag', storage)
    info = yaml.safe_load((bag / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    assert info['version'] == 8
    assert info['storage_identifier'] == storage
    assert info['message_count'] == len(sample_messages())
    for entry in info['topics_with_message_count']:
        # Version 8 (Humble-readable) keeps the QoS profiles as a YAML string.
        assert isinstance(entry['topic_metadata']['offered_qos_profiles'], str)
    assert [(bag / name).is_file() for name in info['relative_file_paths']] == [True]
    with AnyReader([pathlib.Path(bag)]) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        assert sum(1 for _ in reader.messages()) == len(sample_messages())
    assert counts['/odom'] == 2 and counts['/diagnostics'] == 1


def test_writer_serializes_message_objects_and_accepts_raw_bytes(tmp_path):
    string = TYPESTORE.types['std_msgs/msg/String']
    with BagWriter(tmp_path / 'bag', 'sqlite3') as writer:
        writer.add_topic('/a', 'std_msgs/msg/String')
        writer.write('/a', 2, string(data='object'))
        data = TYPESTORE.serialize_cdr(string(data='bytes'), 'std_msgs/msg/String')
        writer.write('/a', 1, bytes(data))
    assert [m.message.data for m in read_messages(tmp_path / 'bag')] == ['bytes', 'object']


def test_merges_bags_in_time_order_and_filters_topics(tmp_path):
    string = TYPESTORE.types['std_msgs/msg/String']
    for name, storage, stamps in (('a', 'mcap', (1, 4, 5)), ('b', 'sqlite3', (2, 3, 6))):
        with BagWriter(tmp_path / name, storage) as writer:
            writer.add_topic('/x', 'std_msgs/msg/String')
            writer.add_topic('/y', 'std_msgs/msg/String')
            for stamp in stamps:
                writer.write('/x', stamp, string(data=f'{name}{stamp}'))
                writer.write('/y', stamp, string(data='other'))
    bags = [tmp_path / 'a', tmp_path / 'b']
    read = list(read_messages(bags, topics=['/x']))
    assert [m.message.data for m in read] == ['a1', 'b2', 'b3', 'a4', 'a5', 'b6']
    with BagReader(bags) as reader:
        assert reader.topics == {'/x': 'std_msgs/msg/String', '/y': 'std_msgs/msg/String'}
        assert len(list(reader)) == 12
        assert reader.problems == [] and reader.notes == []


def test_writer_refuses_what_it_cannot_write(tmp_path):
    (tmp_path / 'exists').mkdir()
    with pytest.raises(FileExistsError, match='exists'):
        BagWriter(tmp_path / 'exists')
    with pytest.raises(ValueError, match='storage'):
        BagWriter(tmp_path / 'x', storage='rosbag1')
    with BagWriter(tmp_path / 'bag') as writer:
        writer.add_topic('/a', 'std_msgs/msg/String')
        with pytest.raises(ValueError, match='already recorded as std_msgs/msg/String'):
            writer.add_topic('/a', 'nav_msgs/msg/Odometry')
        with pytest.raises(ValueError, match='no definition'):
            writer.add_topic('/b', 'my_msgs/msg/Unknown')
        with pytest.raises(ValueError, match='add_topic'):
            writer.write('/c', 1, b'\x00\x01\x00\x00')


def test_flush_period_is_kept_on_the_given_clock(tmp_path):
    now = [0.0]
    with BagWriter(tmp_path / 'bag', flush_period_s=0.5, clock=lambda: now[0]) as writer:
        writer.add_topic('/a', 'std_msgs/msg/String')
        assert not writer.flush_if_due()
        now[0] = 0.5
        assert writer.flush_if_due()
        now[0] = 0.9
        assert not writer.flush_if_due()
    assert np.isclose(writer.flush_period_s, 0.5)
