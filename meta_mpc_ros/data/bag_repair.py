"""
Repair a bag whose recording was not closed, so that rosbags and `ros2 bag` read it.

This is our `ros2 bag reindex`, for what a killed `bag_recorder` (or `ros2 bag
record`) leaves behind. `bag_reader` reads such bags as they are; other tools need:

1. sqlite3: a leftover `-journal` / `-wal` rolled back (or replayed) by sqlite. The
   database and its journal are first copied to `<name>.damaged` / `<journal>.damaged`.
2. A damaged storage file, or an mcap file without its footer and summary (rosbags'
   mcap reader needs them), rewritten: every readable message goes into a new file of
   the same name; the original is kept as `<name>.damaged`, which no reader lists.
3. metadata.yaml (version 8) regenerated from the storage files when it is missing,
   unreadable, or a file was rewritten.

Run it only when nothing writes the bag any more::

    python -m meta_mpc_ros.data.bag_repair BAG [BAG ...]
"""

import collections
import pathlib
import shutil
import sqlite3
import sys
from typing import NamedTuple

from meta_mpc_ros.data.bag_reader import (bag_files, file_typestore, open_storage,
                                          read_metadata, store_for_distro)
from meta_mpc_ros.data.bag_types import BagProblem, MCAP
from meta_mpc_ros.data.bag_writer import BagWriter, METADATA_VERSION
from rosbags.rosbag2.metadata import parse_qos
import yaml

# A type with neither a stored definition nor one in the typestore gets this hash.
_UNKNOWN_HASH = 'RIHS01_' + '0' * 64


class RepairReport(NamedTuple):
    """
    What repair_bag did.

    :param actions: what was changed, one line each.
    :param problems: BagProblems found (data that could not be recovered).
    :param message_count: messages in the bag after the repair.
    """

    actions: list
    problems: list
    message_count: int


def _free_name(path):
    """Return path, or path.1, path.2 ... whichever does not exist yet."""
    candidate, number = path, 0
    while candidate.exists():
        number += 1
        candidate = path.with_name(f'{path.name}.{number}')
    return candidate


def _roll_back(path, actions):
    """Back up a sqlite3 file and its journal, then let sqlite roll the journal back."""
    sidecars = [path.with_name(path.name + end) for end in ('-journal', '-wal')]
    sidecars = [sidecar for sidecar in sidecars if sidecar.exists()]
    for source in [path] + sidecars:
        shutil.copyfile(source, _free_name(source.with_name(source.name + '.damaged')))
    connection = sqlite3.connect(path)
    try:
        # A hot journal is rolled back (and deleted) by the first read.
        connection.execute('SELECT count(*) FROM sqlite_master').fetchone()
    finally:
        connection.close()
    journal = path.with_name(path.name + '-journal')
    # Still there after a read: not hot (never synced, so the database never saw its
    # pages). A leftover WAL is different: sqlite checkpoints and deletes it on close.
    journal.unlink(missing_ok=True)
    actions.append(f'{path}: rolled back to its last commit (copies kept as *.damaged)')


def _definition(info, typestore):
    """Return (msgdef, digest) for BagWriter.add_topic; (None, None) uses the typestore."""
    known = info.msgtype in typestore.fielddefs
    if info.msgdef:
        return info.msgdef, info.digest or (typestore.hash_rihs01(info.msgtype) if known
                                            else _UNKNOWN_HASH)
    return (None, None) if known else ('', _UNKNOWN_HASH)


def _rewrite(path, storage, store, report):
    """Write the readable messages of a storage file into a new file of the same name."""
    workdir = _free_name(path.parent / f'.repair-{path.name}')
    try:
        typestore, _ = file_typestore(storage.connections, store)
        with BagWriter(workdir / 'bag', storage.storage_id, flush_period_s=60.0,
                       typestore=typestore) as writer:
            for info in storage.connections.values():
                msgdef, digest = _definition(info, typestore)
                writer.add_topic(info.topic, info.msgtype, parse_qos(info.offered_qos),
                                 typestore, msgdef, digest)
            for timestamp, key, data in storage.messages(set(storage.connections), report):
                writer.write(storage.connections[key].topic, timestamp, data)
            count = writer.message_count
        storage.close()
        backup = _free_name(path.with_name(path.name + '.damaged'))
        path.rename(backup)
        writer.storage_file.rename(path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return f'{path}: rewritten with its {count} readable messages (original kept as {backup.name})'


def _file_entry(path, storage, topics, report):
    """Count one file's messages per topic; return its `files` entry of metadata.yaml."""
    counts = collections.Counter()
    first, last = None, None
    for timestamp, key, _ in storage.messages(set(storage.connections), report):
        counts[key] += 1
        first = timestamp if first is None else min(first, timestamp)
        last = timestamp if last is None else max(last, timestamp)
    for key, info in storage.connections.items():
        entry = (info.topic, info.msgtype, info.serialization_format, info.offered_qos,
                 info.digest)
        topics[entry] = topics.get(entry, 0) + counts[key]
    return {'path': path.name,
            'starting_time': {'nanoseconds_since_epoch': first or 0},
            'duration': {'nanoseconds': (last - first) if first is not None else 0},
            'message_count': sum(counts.values())}


def write_metadata(bag, files, ros_distro='', problems=None):
    """
    Write a bag's metadata.yaml (version 8) from its storage files.

    :param bag: the bag directory.
    :param files: its storage files, in order.
    :param ros_distro: the distro to record ('' when unknown).
    :param problems: list that receives BagProblems found while counting.
    :return: the number of messages.
    """
    problems = [] if problems is None else problems
    topics, entries, storage_ids = {}, [], set()
    for path in files:
        storage = open_storage(path)
        try:
            storage_ids.add(storage.storage_id)
            entries.append(_file_entry(path, storage, topics, lambda text, path=path:
                                       problems.append(BagProblem(str(path), text))))
        finally:
            storage.close()
    if len(storage_ids) > 1:
        problems.append(BagProblem(str(bag), f'mixed storage formats {sorted(storage_ids)}'))
    counted = [entry for entry in entries if entry['message_count']]
    start = min((entry['starting_time']['nanoseconds_since_epoch'] for entry in counted),
                default=0)
    end = max((entry['starting_time']['nanoseconds_since_epoch']
               + entry['duration']['nanoseconds'] for entry in counted), default=0)
    total = sum(entry['message_count'] for entry in entries)
    information = {
        'version': METADATA_VERSION,
        'storage_identifier': sorted(storage_ids)[0] if storage_ids else MCAP,
        'duration': {'nanoseconds': end - start},
        'starting_time': {'nanoseconds_since_epoch': start},
        'message_count': total,
        'topics_with_message_count': [
            {'topic_metadata': {'name': topic, 'type': msgtype, 'serialization_format': fmt,
                                'offered_qos_profiles': qos, 'type_description_hash': digest},
             'message_count': count}
            for (topic, msgtype, fmt, qos, digest), count in topics.items()],
        'compression_format': '',
        'compression_mode': '',
        'relative_file_paths': [path.name for path in files],
        'files': entries,
        'custom_data': {'repaired_by': 'meta_mpc_ros.data.bag_repair'},
        'ros_distro': ros_distro,
    }
    text = yaml.safe_dump({'rosbag2_bagfile_information': information}, sort_keys=False,
                          default_flow_style=False)
    target = pathlib.Path(bag) / 'metadata.yaml'
    temporary = target.with_name('metadata.yaml.tmp')
    temporary.write_text(text)
    temporary.replace(target)
    return total


def repair_bag(bag, default_distro='humble'):
    """
    Make a bag left by a crashed recorder readable by rosbags and `ros2 bag`.

    :param bag: the bag directory.
    :param default_distro: ROS distro of files that store no message definitions.
    :return: RepairReport.
    :raises FileNotFoundError: when bag is not a directory.
    """
    bag = pathlib.Path(bag)
    if bag.is_file():
        raise FileNotFoundError(f'{bag}: a file; repair works on the bag directory that '
                                'holds it (metadata.yaml is rewritten there)')
    if not bag.is_dir():
        raise FileNotFoundError(f'{bag}: not a bag directory')
    files, metadata, _, problems = bag_files(bag)
    actions = []
    ros_distro = str((metadata or {}).get('ros_distro') or '')
    store = store_for_distro(ros_distro, store_for_distro(default_distro))
    rewritten = False
    for path in files:
        storage = open_storage(path)
        try:
            if storage.storage_id != MCAP and not storage.complete:
                storage.close()
                _roll_back(path, actions)
                storage = open_storage(path)
            problems += [BagProblem(str(path), text) for text in storage.problems]
            if storage.problems or not storage.complete:
                actions.append(_rewrite(path, storage, store, lambda text, path=path:
                                        problems.append(BagProblem(str(path), text))))
                rewritten = True
        finally:
            storage.close()
    if metadata is None or rewritten:
        count = write_metadata(bag, files, ros_distro, problems)
        actions.append(f'{bag / "metadata.yaml"}: written (version {METADATA_VERSION}, '
                       f'{len(files)} files, {count} messages)')
    else:
        count = int(read_metadata(bag).get('message_count', 0))
    return RepairReport(actions, problems, count)


def main(argv=None):
    """
    Repair each bag named on the command line and print what was done.

    :param argv: bag directories (default: sys.argv[1:]).
    :return: 0, 1 when data could not be recovered, or 2 when an argument is not a bag.
    """
    status = 0
    for bag in (sys.argv[1:] if argv is None else argv):
        try:
            report = repair_bag(bag)
        except (OSError, ValueError) as error:
            print(f'bag_repair: error: {error}', file=sys.stderr)
            status = 2
            continue
        for line in report.actions:
            print(line)
        for problem in report.problems:
            print(f'lost: {problem}', file=sys.stderr)
            status = max(status, 1)
        print(f'{bag}: {report.message_count} messages readable')
    return status


if __name__ == '__main__':
    sys.exit(main())
