"""Bags we did not write: a Humble sqlite3 recording and zstd-compressed mcap chunks."""

import sqlite3

from meta_mpc_ros.data.bag_reader import BagReader, load_messages, read_messages
from nav_msgs.msg import Odometry
import numpy as np
from rclpy.serialization import deserialize_message, serialize_message
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer
from rosbags.typesys import get_typestore, Stores
from sensor_msgs.msg import JointState

COUNT = 6000
# What `ros2 bag record` on Humble writes (rosbag2 0.15: schema 3, metadata version 5):
# no message definitions anywhere, QoS as a YAML string.
HUMBLE_SCHEMA = """
CREATE TABLE schema(schema_version INTEGER PRIMARY KEY, ros_distro TEXT NOT NULL);
CREATE TABLE metadata(id INTEGER PRIMARY KEY, metadata_version INTEGER NOT NULL,
                      metadata TEXT NOT NULL);
CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
                    serialization_format TEXT NOT NULL, offered_qos_profiles TEXT NOT NULL);
CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL,
                      timestamp INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX timestamp_idx ON messages (timestamp ASC);
INSERT INTO schema VALUES (3, 'humble');
"""
QOS = ('- history: 3\n  depth: 0\n  reliability: 1\n  durability: 2\n  deadline:\n'
       '    sec: 9223372036\n    nsec: 854775807\n  lifespan:\n    sec: 9223372036\n'
       '    nsec: 854775807\n  liveliness: 1\n  liveliness_lease_duration:\n'
       '    sec: 9223372036\n    nsec: 854775807\n  avoid_ros_namespace_conventions: false')
HUMBLE_METADATA = """rosbag2_bagfile_information:
  version: 5
  storage_identifier: sqlite3
  duration:
    nanoseconds: 20
  starting_time:
    nanoseconds_since_epoch: 100
  message_count: 3
  topics_with_message_count:
    - topic_metadata:
        name: /joint_states
        type: sensor_msgs/msg/JointState
        serialization_format: cdr
        offered_qos_profiles: ''
      message_count: 2
    - topic_metadata:
        name: /odom
        type: nav_msgs/msg/Odometry
        serialization_format: cdr
        offered_qos_profiles: ''
      message_count: 1
  compression_format: ''
  compression_mode: ''
  relative_file_paths:
    - robot_0.db3
  files:
    - path: robot_0.db3
      starting_time:
        nanoseconds_since_epoch: 100
      duration:
        nanoseconds: 20
      message_count: 3
"""


def test_humble_sqlite3_bag_without_definitions(tmp_path):
    bag = tmp_path / 'robot'
    bag.mkdir()
    joints = [JointState(name=['left', 'right'], position=[0.5, 1.5], velocity=[2.0, 3.0]),
              JointState(name=['left', 'right'], position=[0.75, 1.25])]
    odometry = Odometry(child_frame_id='base_link')
    odometry.pose.pose.position.x = 4.0
    database = sqlite3.connect(bag / 'robot_0.db3')
    database.executescript(HUMBLE_SCHEMA)
    database.executemany('INSERT INTO topics VALUES (?, ?, ?, ?, ?)', [
        (1, '/joint_states', 'sensor_msgs/msg/JointState', 'cdr', QOS),
        (2, '/odom', 'nav_msgs/msg/Odometry', 'cdr', QOS)])
    # serialize_message pads JointState with trailing bytes that rosbags' own
    # deserialize_cdr rejects; the reader must accept them as ROS does.
    database.executemany('INSERT INTO messages (topic_id, timestamp, data) VALUES (?, ?, ?)', [
        (1, 120, serialize_message(joints[1])), (2, 110, serialize_message(odometry)),
        (1, 100, serialize_message(joints[0]))])
    database.commit()
    database.close()
    (bag / 'metadata.yaml').write_text(HUMBLE_METADATA)

    with BagReader(bag) as reader:
        assert reader.topics == {'/joint_states': 'sensor_msgs/msg/JointState',
                                 '/odom': 'nav_msgs/msg/Odometry'}
        read = list(reader)
    assert [(m.topic, m.timestamp_ns) for m in read] == [
        ('/joint_states', 100), ('/odom', 110), ('/joint_states', 120)]
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    for message, original in zip([read[0], read[2]], joints):
        data = bytes(typestore.serialize_cdr(message.message, message.msgtype))
        assert deserialize_message(data, JointState) == original
    assert read[1].message.pose.pose.position.x == 4.0


def test_zstd_compressed_mcap_chunks_are_read_and_salvaged(tmp_path):
    typestore = get_typestore(Stores.ROS2_JAZZY)
    string = typestore.types['std_msgs/msg/String']
    bag = tmp_path / 'zstd'
    writer = Writer(bag, version=9, storage_plugin=StoragePlugin.MCAP)
    writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
    with writer:
        connection = writer.add_connection('/text', 'std_msgs/msg/String', typestore=typestore)
        # Random letters compress to about 60 %, so the 3.6 MB make four 1 MiB chunks.
        letters = np.random.default_rng(0).integers(65, 91, size=(COUNT, 600), dtype=np.uint8)
        for number in range(COUNT):
            data = f'{number} ' + letters[number].tobytes().decode()
            writer.write(connection, number, typestore.serialize_cdr(string(data=data),
                                                                     'std_msgs/msg/String'))
    assert [int(m.message.data.split()[0]) for m in read_messages(bag)] == list(range(COUNT))

    storage = bag / 'zstd.mcap'
    with storage.open('r+b') as stream:
        stream.truncate(storage.stat().st_size // 2)
    messages, problems = load_messages(bag)
    read = [int(m.message.data.split()[0]) for m in messages]
    # Whole compressed chunks before the cut are kept (one or two of four); the one cut
    # through is lost.
    assert read == list(range(len(read))) and COUNT // 4 <= len(read) <= COUNT // 2
    assert [problem.path for problem in problems] == [str(storage)]
