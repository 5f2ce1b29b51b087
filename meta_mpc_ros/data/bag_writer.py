"""
Writing rosbag2 bags (mcap or sqlite3, metadata version 8) that survive a crash.

`BagWriter` wraps rosbags' `Writer`. It takes already-serialized CDR bytes (what a
raw rclpy subscription delivers) or message objects of its rosbags typestore.

Metadata version 8 is what Humble's `ros2 bag` can read: from version 9 on,
`offered_qos_profiles` is a YAML list where Humble expects a string. rosbags writes
version 8 or 9 (`Writer(version=...)`); we always ask for 8.

Crash safety. rosbags on its own loses everything on a crash: its sqlite3 storage
runs the whole recording in one transaction, committed at `close()`, and its mcap
storage keeps the open chunk (up to 1 MiB) in memory and writes the chunk indexes,
summary and footer only at `close()`. Neither writes metadata.yaml before `close()`.
`BagWriter` therefore flushes every `flush_period_s` seconds (default 0.5 s, on the
monotonic clock, from `write()` and from `flush_if_due()` that a recorder calls on a
timer):

- sqlite3: the transaction is committed. A killed writer leaves every committed row
  readable, plus a `-journal` of the open transaction, which sqlite rolls back
  (`bag_sqlite` does so on a copy, `repair_bag` in place).
- mcap: the open chunk is closed (written with its message indexes) and the file
  buffer is handed to the OS. A killed writer leaves a file of complete chunks
  without a footer, which `bag_mcap.McapFile` reads by scanning.

So a SIGKILL loses at most the last `flush_period_s` of messages (provided the
owner calls `write()` or `flush_if_due()` at least that often), and the page cache
keeps the rest (a power cut may lose more: there is no fsync beyond sqlite's own).
The flushing storages subclass rosbags' own (`Sqlite3Writer.conn`,
`McapWriter.chunk` / `close_chunk` / `bio`): rosbags is pinned for that reason.
metadata.yaml is written only by `close()`, as `ros2 bag record` does, so a missing
metadata.yaml marks a recording that was not closed; `bag_reader` reads such a bag
as it is, and `bag_repair.repair_bag` writes its metadata.yaml (and rewrites an
unfinished mcap file with its summary) so that rosbags and `ros2 bag` read it too.
"""

import pathlib
import time

from rosbags.rosbag2 import StoragePlugin, Writer, WriterError
from rosbags.rosbag2.storage_mcap import McapWriter
from rosbags.rosbag2.storage_sqlite3 import Sqlite3Writer
from rosbags.typesys import get_typestore, Stores

METADATA_VERSION = 8
DEFAULT_FLUSH_PERIOD_S = 0.5
STORAGES = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}
_RAW = (bytes, bytearray, memoryview)


class _FlushingSqlite3Writer(Sqlite3Writer):
    """rosbags' sqlite3 storage, plus a commit of the open transaction."""

    def flush(self):
        """Commit what was written so far."""
        self.conn.commit()


class _FlushingMcapWriter(McapWriter):
    """rosbags' mcap storage, plus writing the open chunk out."""

    def flush(self):
        """Close the open chunk if it holds messages, and pass the file buffer to the OS."""
        if self.chunk.msgs:
            self.close_chunk()
        self.bio.flush()


class _Rosbag2Writer(Writer):
    """rosbags' Writer with storages that can flush."""

    STORAGE_PLUGINS = {StoragePlugin.SQLITE3: _FlushingSqlite3Writer,
                       StoragePlugin.MCAP: _FlushingMcapWriter}


class BagWriter:
    """
    A rosbag2 bag being written: topics, then messages, then `close()`.

    :param path: the bag directory to create (it must not exist).
    :param storage: 'mcap' or 'sqlite3'.
    :param flush_period_s: the most seconds of messages a crash may lose.
    :param typestore: rosbags typestore for definitions and serialization (default:
        the Humble store, whose definitions of our message types match Jazzy's wire
        format too).
    :param custom_data: str -> str stored in metadata.yaml's custom_data.
    :param clock: monotonic clock in seconds (for tests).
    """

    def __init__(self, path, storage='mcap', flush_period_s=DEFAULT_FLUSH_PERIOD_S,
                 typestore=None, custom_data=None, clock=time.monotonic):
        """Create the bag directory and its storage file."""
        if storage not in STORAGES:
            raise ValueError(f'storage must be one of {sorted(STORAGES)}, got {storage!r}')
        if not flush_period_s > 0:
            raise ValueError(f'flush_period_s must be positive, got {flush_period_s!r}')
        self.path = pathlib.Path(path)
        self.storage = storage
        self.flush_period_s = float(flush_period_s)
        self.typestore = typestore or get_typestore(Stores.ROS2_HUMBLE)
        self.message_count = 0
        self._clock = clock
        self._topics = {}
        self._dirty = False
        self._last_flush = clock()
        if self.path.exists():
            raise FileExistsError(f'{self.path}: the bag directory exists already')
        self._writer = _Rosbag2Writer(self.path, version=METADATA_VERSION,
                                      storage_plugin=STORAGES[storage])
        self._writer.set_custom_data('writer', 'meta_mpc_ros.data.bag_writer')
        for key, value in (custom_data or {}).items():
            self._writer.set_custom_data(str(key), str(value))
        try:
            self._writer.open()
        except WriterError as err:
            raise FileExistsError(str(err)) from None
        self.storage_file = self._writer.storage.path

    @property
    def closed(self):
        """Return whether close() has run."""
        return self._writer.storage is None

    @property
    def topics(self):
        """Return {topic: msgtype} of the topics added."""
        return {topic: entry[1] for topic, entry in self._topics.items()}

    def add_topic(self, topic, msgtype, offered_qos=(), typestore=None, msgdef=None,
                  digest=None):
        """
        Add a topic before writing its messages; adding it again is a no-op.

        :param topic: topic name.
        :param msgtype: e.g. 'nav_msgs/msg/Odometry'.
        :param offered_qos: the publishers' QoS as `rosbags.interfaces.Qos` (for replay).
        :param typestore: the typestore defining msgtype (default: the writer's).
        :param msgdef: the definition text, when the typestore does not have the type.
        :param digest: its RIHS01 hash, with msgdef.
        :raises ValueError: for a topic added with another type, or an unknown type.
        """
        typestore = typestore or self.typestore
        if topic in self._topics:
            if self._topics[topic][1] != msgtype:
                raise ValueError(f'{topic} is already recorded as {self._topics[topic][1]}, '
                                 f'not {msgtype}')
            return
        if msgdef is None and msgtype not in typestore.fielddefs:
            raise ValueError(f'{topic}: the typestore has no definition of {msgtype}')
        connection = self._writer.add_connection(
            topic, msgtype, typestore=typestore, msgdef=msgdef, rihs01=digest,
            offered_qos_profiles=list(offered_qos))
        self._topics[topic] = (connection, msgtype, typestore)
        self._dirty = True

    def write(self, topic, timestamp_ns, message):
        """
        Write one message, and flush if the flush period has passed.

        :param topic: a topic added with add_topic.
        :param timestamp_ns: the message's bag timestamp in nanoseconds.
        :param message: CDR bytes (bytes, bytearray, memoryview) or a message object of
            the topic's typestore.
        """
        entry = self._topics.get(topic)
        if entry is None:
            raise ValueError(f'{topic}: call add_topic before writing')
        connection, msgtype, typestore = entry
        data = message if isinstance(message, _RAW) else typestore.serialize_cdr(message, msgtype)
        self._writer.write(connection, int(timestamp_ns), data)
        self.message_count += 1
        self._dirty = True
        self.flush_if_due()

    def flush(self):
        """Make everything written so far survive a crash of this process."""
        if self._dirty and not self.closed:
            self._writer.storage.flush()
        self._dirty = False
        self._last_flush = self._clock()

    def flush_if_due(self):
        """
        Flush if flush_period_s has passed since the last flush.

        :return: whether it flushed.
        """
        if self._clock() - self._last_flush < self.flush_period_s:
            return False
        self.flush()
        return True

    def close(self):
        """Finish the storage file and write metadata.yaml; closing twice is a no-op."""
        if not self.closed:
            self._writer.close()

    def __enter__(self):
        """Return self."""
        return self

    def __exit__(self, *exc_info):
        """Close the bag even after an error, keeping what was written."""
        self.close()
        return False
