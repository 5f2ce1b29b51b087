"""
Reading rosbag2 bags for offline training: the messages of one or more bags in time order.

A bag is a directory (sqlite3 or mcap storage, written by `BagWriter`, by
`ros2 bag record` on a robot, or left behind by a recorder that crashed) or a single
`.mcap` / `.db3` file. Storage files are listed by `metadata.yaml`; when it is
missing (the recording was never closed) or unreadable, the storage files in the
directory are read instead, and a note says so (`repair_bag` writes it back).

Damage is never silent:

- strict (the default): the first problem raises `BagReadError`, whose message names
  the file and the place; messages yielded before it were good.
- `strict=False`: every readable message is yielded and each problem is appended to
  `BagReader.problems` (`load_messages` returns both).

A file left unclosed by a crash (no metadata.yaml, no MCAP footer, a leftover sqlite
journal) is not damage by itself: it is listed in `notes`, not `problems`.

Messages are deserialized with the definitions stored in each file (mcap always,
sqlite3 from Iron on); files without them (sqlite3 from Humble) use the rosbags
typestore of the bag's `ros_distro`, or of `default_distro`.
"""

import heapq
import os
import pathlib
import re
import struct
from typing import NamedTuple

from meta_mpc_ros.data.bag_mcap import McapFile
from meta_mpc_ros.data.bag_sqlite import SqliteFile
from meta_mpc_ros.data.bag_types import BagProblem, BagReadError, MCAP, STORAGE_SUFFIXES
from rosbags.serde import SerdeError
from rosbags.typesys import (get_types_from_idl, get_types_from_msg, get_typestore, Stores,
                             TypesysError)
import yaml

_IDL_SEPARATOR = '=' * 80 + '\n'


class BagMessage(NamedTuple):
    """
    One recorded message.

    :param topic: topic name.
    :param msgtype: e.g. 'nav_msgs/msg/Odometry'.
    :param timestamp_ns: the bag's timestamp (receive time for `ros2 bag record` and
        `bag_recorder`), in nanoseconds.
    :param message: the deserialized message (a rosbags message dataclass).
    """

    topic: str
    msgtype: str
    timestamp_ns: int
    message: object


def store_for_distro(distro, fallback=Stores.ROS2_HUMBLE):
    """
    Return the rosbags `Stores` member of a ROS 2 distribution name.

    :param distro: 'humble', 'jazzy', ... (case-insensitive); anything else gives fallback.
    :param fallback: the store used for unknown names.
    :return: a `rosbags.typesys.Stores` member.
    """
    try:
        return Stores(f'ros2_{str(distro).lower()}')
    except ValueError:
        return fallback


def deserialize(typestore, data, msgtype):
    """
    Deserialize CDR bytes, ignoring trailing bytes as ROS deserializers do.

    rosbags' `deserialize_cdr` rejects more than 3 trailing bytes, but
    `rclpy.serialization.serialize_message` (and so bags written with rosbag2_py)
    appends up to 8 (e.g. a JointState with an empty effort).

    :param typestore: rosbags typestore defining msgtype.
    :param data: CDR bytes with their 4-byte encapsulation header.
    :param msgtype: e.g. 'sensor_msgs/msg/JointState'.
    :return: the rosbags message object.
    :raises SerdeError: when the bytes do not hold a msgtype.
    """
    if len(data) < 4 or bytes(data[:2]) not in (b'\x00\x00', b'\x00\x01'):
        raise SerdeError('invalid or unsupported CDR encapsulation header')
    msgdef = typestore.get_msgdef(msgtype)
    function = msgdef.deserialize_cdr_le if data[1] else msgdef.deserialize_cdr_be
    try:
        message, _ = function(memoryview(data)[4:], 0, msgdef.cls, typestore)
    except (struct.error, UnicodeDecodeError, ValueError, IndexError) as err:
        raise SerdeError(str(err)) from None
    return message


def _natural_key(path):
    """Sort key that orders bag_2.mcap before bag_10.mcap."""
    return [int(part) if part.isdigit() else part for part in re.split(r'(\d+)', path.name)]


def read_metadata(bag):
    """
    Load a bag directory's metadata.yaml.

    :param bag: the bag directory.
    :return: the 'rosbag2_bagfile_information' mapping.
    :raises OSError, ValueError: when the file is missing or not rosbag2 metadata.
    """
    path = pathlib.Path(bag) / 'metadata.yaml'
    try:
        info = yaml.safe_load(path.read_text())['rosbag2_bagfile_information']
        list(info['relative_file_paths'])
    except (yaml.YAMLError, KeyError, TypeError) as err:
        raise ValueError(f'{path}: not rosbag2 metadata ({err!r})') from None
    return info


def bag_files(bag):
    """
    Find the storage files of a bag.

    :param bag: a bag directory or one storage file.
    :return: (storage file paths, metadata mapping or None, notes, problems); notes and
        problems are lists of BagProblem.
    :raises FileNotFoundError: when the path is neither a directory nor a storage file.
    """
    bag = pathlib.Path(bag)
    if bag.is_file() and bag.suffix in STORAGE_SUFFIXES:
        return [bag], None, [], []
    if not bag.is_dir():
        raise FileNotFoundError(f'{bag}: no such bag directory or .mcap/.db3 file')
    found = sorted((path for path in bag.iterdir() if path.suffix in STORAGE_SUFFIXES),
                   key=_natural_key)
    notes, problems, metadata, files = [], [], None, []
    if not (bag / 'metadata.yaml').exists():
        notes.append(BagProblem(str(bag), 'no metadata.yaml (the recording was not closed); '
                                'reading the storage files found (repair_bag writes it)'))
    else:
        try:
            metadata = read_metadata(bag)
        except (OSError, ValueError) as err:
            problems.append(BagProblem(str(bag / 'metadata.yaml'),
                                       f'unreadable ({err}); reading the storage files found'))
    if metadata is not None:
        if str(metadata.get('compression_mode') or 'none').lower() != 'none':
            problems.append(BagProblem(str(bag), 'compressed bags (compression_mode '
                                       f'{metadata["compression_mode"]}) are not supported'))
            return [], metadata, notes, problems
        for name in metadata['relative_file_paths']:
            path = bag / pathlib.PurePath(name).name
            if path.is_file():
                files.append(path)
            else:
                problems.append(BagProblem(str(path), 'listed in metadata.yaml but missing'))
        extra = [path for path in found if path not in files]
        if extra:
            notes.append(BagProblem(str(bag), 'storage files not in metadata.yaml are read too: '
                                    + ', '.join(path.name for path in extra)))
        files += extra
    else:
        files = found
    if not files and not problems:
        problems.append(BagProblem(str(bag), 'no storage files (.mcap or .db3) in the bag'))
    return files, metadata, notes, problems


def open_storage(path):
    """
    Open one storage file with the tolerant reader for its format.

    :param path: a `.mcap` or `.db3` file.
    :return: a McapFile or SqliteFile (damage is in its `problems`).
    """
    path = pathlib.Path(path)
    return McapFile(path) if STORAGE_SUFFIXES[path.suffix] == MCAP else SqliteFile(path)


def _definitions(connections):
    """Return (types parsed from the embedded definitions, errors)."""
    types, errors = {}, []
    for info in connections.values():
        if not info.msgdef or info.msgtype in types:
            continue
        try:
            if info.msgdef_format == 'ros2idl':
                parts = info.msgdef.split(_IDL_SEPARATOR)
                for part in (parts[1:] if info.msgdef.startswith(_IDL_SEPARATOR) else parts):
                    types.update(get_types_from_idl(part.split('\n', 1)[1]
                                                    if part.startswith('IDL: ') else part))
            else:
                types.update(get_types_from_msg(info.msgdef, info.msgtype))
        except (TypesysError, IndexError, ValueError) as err:
            errors.append(f'{info.topic}: cannot parse the stored definition of '
                          f'{info.msgtype} ({err}); using the default typestore')
    return types, errors


def file_typestore(connections, store):
    """
    Build the typestore for one storage file.

    :param connections: the file's TopicInfo by id.
    :param store: the `Stores` member for types the file does not define.
    :return: (typestore, list of error strings).
    """
    types, errors = _definitions(connections)
    typestore = get_typestore(store)
    try:
        typestore.register(types)
    except TypesysError:
        # The file's own definitions differ from the distro's: they describe its bytes.
        typestore = get_typestore(Stores.EMPTY)
        typestore.register(types)
    return typestore, errors


class BagReader:
    """
    The messages of one or more bags, merged in time order.

    :param paths: a bag (directory or storage file) or a list of them.
    :param topics: topic names to read; None reads every topic.
    :param strict: raise BagReadError at the first problem (else collect `problems`).
    :param default_distro: ROS distro of files that store no message definitions.
    """

    def __init__(self, paths, topics=None, strict=True, default_distro='humble'):
        """Open every storage file; in strict mode, raise on damage found while scanning."""
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.strict = strict
        self.problems = []
        self.notes = []
        self._wanted = None if topics is None else set(topics)
        self._files = []
        try:
            for path in paths:
                self._open_bag(path, store_for_distro(default_distro))
        except BaseException:
            self.close()
            raise

    def _problem(self, path, message):
        """Record a problem; in strict mode, raise it."""
        problem = BagProblem(str(path), message)
        self.problems.append(problem)
        if self.strict:
            raise BagReadError(problem)

    def _open_bag(self, bag, default_store):
        """Open the storage files of one bag."""
        files, metadata, notes, problems = bag_files(bag)
        self.notes += notes
        for problem in problems:
            self._problem(problem.path, problem.message)
        store = store_for_distro((metadata or {}).get('ros_distro'), default_store)
        for path in files:
            storage = open_storage(path)
            self._files.append((storage, None, {}))
            self.notes += [BagProblem(str(path), note) for note in storage.notes]
            for text in storage.problems:
                self._problem(path, text)
            typestore, errors = file_typestore(storage.connections, store)
            for text in errors:
                self._problem(path, text)
            readable = {}
            for key, info in storage.connections.items():
                if self._wanted is not None and info.topic not in self._wanted:
                    continue
                if info.serialization_format != 'cdr':
                    self._problem(path, f'{info.topic}: serialization '
                                  f'{info.serialization_format!r} is not supported; skipped')
                elif info.msgtype not in typestore.fielddefs:
                    self._problem(path, f'{info.topic}: no definition of {info.msgtype}; '
                                  'its messages are skipped')
                else:
                    readable[key] = info
            self._files[-1] = (storage, typestore, readable)

    @property
    def topics(self):
        """Return {topic: msgtype} of every readable topic selected."""
        return {info.topic: info.msgtype for _, _, readable in self._files
                for info in readable.values()}

    def raw_messages(self):
        """
        Yield the selected messages, undeserialized, in time order.

        :return: iterator of (topic, msgtype, timestamp_ns, CDR bytes).
        """
        for _, _, info, timestamp, data in self._merged():
            yield info.topic, info.msgtype, timestamp, data

    def __iter__(self):
        """Yield BagMessage in time order; undecodable messages are problems."""
        for storage, typestore, info, timestamp, data in self._merged():
            try:
                message = deserialize(typestore, data, info.msgtype)
            except SerdeError as err:
                self._problem(storage.path, f'{info.topic}: the message at {timestamp} ns '
                              f'cannot be deserialized as {info.msgtype} ({err}); skipped')
                continue
            yield BagMessage(info.topic, info.msgtype, timestamp, message)

    def _merged(self):
        """Yield (storage, typestore, TopicInfo, timestamp, data) over all files in time order."""
        sources = [self._tagged(index, storage, readable)
                   for index, (storage, _, readable) in enumerate(self._files) if readable]
        for timestamp, index, _, key, data in heapq.merge(*sources):
            storage, typestore, readable = self._files[index]
            yield storage, typestore, readable[key], timestamp, data

    def _tagged(self, index, storage, readable):
        """Yield (timestamp, file index, sequence, topic id, data) from one file."""
        def report(text):
            self._problem(storage.path, text)

        for number, (timestamp, key, data) in enumerate(storage.messages(readable, report)):
            yield timestamp, index, number, key, data

    def close(self):
        """Close every storage file."""
        for storage, _, _ in self._files:
            storage.close()
        self._files = []

    def __enter__(self):
        """Return self."""
        return self

    def __exit__(self, *exc_info):
        """Close the files."""
        self.close()
        return False


def read_messages(paths, topics=None, strict=True, default_distro='humble'):
    """
    Yield the messages of one or more bags in time order.

    :param paths: a bag (directory or storage file) or a list of them.
    :param topics: topic names to read; None reads every topic.
    :param strict: raise BagReadError (naming the file) at the first problem; with
        False, damaged parts are skipped silently (use `load_messages` to see them).
    :param default_distro: ROS distro of files that store no message definitions.
    :return: iterator of BagMessage.
    """
    with BagReader(paths, topics, strict, default_distro) as reader:
        yield from reader


def load_messages(paths, topics=None, default_distro='humble'):
    """
    Read every readable message of one or more bags, tolerating damage.

    :param paths: a bag (directory or storage file) or a list of them.
    :param topics: topic names to read; None reads every topic.
    :param default_distro: ROS distro of files that store no message definitions.
    :return: (list of BagMessage in time order, list of BagProblem naming files).
    """
    with BagReader(paths, topics, False, default_distro) as reader:
        messages = list(reader)
        return messages, list(reader.problems)
