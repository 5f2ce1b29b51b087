"""
Small types shared by the rosbag2 reader, writer and repair modules.

A storage file (one `.mcap` or `.db3` inside a bag directory) is read by a
storage-level reader (`bag_mcap.McapFile`, `bag_sqlite.SqliteFile`) that describes
its topics with `TopicInfo` and reports damage as plain strings; the bag-level
reader turns those into `BagProblem`s that name the file, and strict reading
raises `BagReadError`.
"""

from typing import NamedTuple

MCAP = 'mcap'
SQLITE3 = 'sqlite3'
STORAGE_SUFFIXES = {'.mcap': MCAP, '.db3': SQLITE3}


class TopicInfo(NamedTuple):
    """
    One topic (a connection) of a storage file, as rosbag2 stores it.

    :param topic: topic name, e.g. '/odom'.
    :param msgtype: full type name, e.g. 'nav_msgs/msg/Odometry'.
    :param msgdef_format: 'ros2msg', 'ros2idl' or '' when the file holds no definition
        (sqlite3 bags recorded by Humble do not).
    :param msgdef: the message definition text, '' when absent.
    :param digest: the RIHS01 type hash, '' when absent.
    :param serialization_format: 'cdr' for every bag we can read.
    :param offered_qos: the offered QoS profiles exactly as stored (a YAML string).
    """

    topic: str
    msgtype: str
    msgdef_format: str
    msgdef: str
    digest: str
    serialization_format: str
    offered_qos: str


class BagProblem(NamedTuple):
    """
    Damage found while reading: the file it is in and what was lost or skipped.

    :param path: the storage file (or bag directory) concerned.
    :param message: what is wrong, with byte offsets or row ids where known.
    """

    path: str
    message: str

    def __str__(self):
        """Return 'path: message'."""
        return f'{self.path}: {self.message}'


class BagReadError(Exception):
    """A bag is damaged or unreadable; the message names the file."""

    def __init__(self, problem):
        """
        Build the error from the problem found.

        :param problem: the BagProblem that made strict reading stop.
        """
        super().__init__(str(problem))
        self.problem = problem
        self.path = problem.path
