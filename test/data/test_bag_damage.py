"""Truncated or corrupted bags: a clear error naming the file, and the readable part kept."""

import shutil

from meta_mpc_ros.data.bag_reader import BagReadError, load_messages, read_messages
from meta_mpc_ros.data.bag_repair import repair_bag
from meta_mpc_ros.data.bag_writer import BagWriter
import pytest
from rosbags.highlevel import AnyReader
from rosbags.typesys import get_typestore, Stores

TYPESTORE = get_typestore(Stores.ROS2_HUMBLE)
COUNT = 2000
PER_FLUSH = 100


def write_bag(bag, storage):
    """Write COUNT numbered Strings (~250 bytes each), flushed every PER_FLUSH; return file."""
    string = TYPESTORE.types['std_msgs/msg/String']
    with BagWriter(bag, storage, typestore=TYPESTORE) as writer:
        writer.add_topic('/text', 'std_msgs/msg/String')
        for number in range(COUNT):
            writer.write('/text', 10**9 + number * 10**7,
                         string(data=f'message {number} ' + 'x' * 230))
            if number % PER_FLUSH == PER_FLUSH - 1:
                writer.flush()
    return writer.storage_file


def numbers(messages):
    """Return the message numbers of read Strings."""
    return [int(message.message.data.split()[1]) for message in messages]


@pytest.fixture(params=['mcap', 'sqlite3'])
def bag(request, tmp_path):
    """Return (bag directory, storage file) of a closed bag in each storage."""
    path = tmp_path / 'bag'
    return path, write_bag(path, request.param)


def test_truncated_file_keeps_what_precedes_the_cut(bag):
    path, storage = bag
    size = storage.stat().st_size
    with storage.open('r+b') as stream:
        stream.truncate(int(size * 0.6))

    with pytest.raises(BagReadError) as error:
        list(read_messages(path))
    assert str(storage) in str(error.value) and 'truncated' in str(error.value)

    messages, problems = load_messages(path)
    assert problems and all(problem.path == str(storage) for problem in problems)
    read = numbers(messages)
    assert read == sorted(read)
    # 60 % of the bytes hold about 60 % of the messages; all before the cut are kept
    # (sqlite interleaves a few index pages, so allow a little less).
    assert read[:1100] == list(range(1100))
    assert len(read) <= 0.65 * COUNT


def test_overwritten_bytes_lose_only_the_damaged_region(bag):
    path, storage = bag
    size = storage.stat().st_size
    with storage.open('r+b') as stream:
        stream.seek(size // 2)
        stream.write(bytes(range(256)) * 12)

    with pytest.raises(BagReadError, match=str(storage)):
        list(read_messages(path))
    messages, problems = load_messages(path)
    assert problems and all(problem.path == str(storage) for problem in problems)
    read = numbers(messages)
    # Messages before and after the 3 KiB of garbage survive: at most the flush
    # (PER_FLUSH messages, one mcap chunk) around it is lost.
    assert read[:900] == list(range(900))
    assert read[-1] == COUNT - 1
    assert len(read) >= COUNT - 2 * PER_FLUSH


def test_repair_rewrites_a_damaged_file_and_keeps_the_original(bag):
    path, storage = bag
    with storage.open('r+b') as stream:
        stream.truncate(storage.stat().st_size // 2)
    readable, _ = load_messages(path)

    report = repair_bag(path)

    assert report.problems and report.message_count == len(readable)
    assert storage.with_name(storage.name + '.damaged').is_file()
    with AnyReader([path]) as reader:
        assert sum(1 for _ in reader.messages()) == len(readable)
    assert numbers(read_messages(path)) == numbers(readable)


@pytest.mark.parametrize('name, content', [('bag.mcap', b''), ('bag.mcap', b'not a bag' * 20),
                                           ('bag.db3', b'SQLite format 3\x00' + bytes(200))])
def test_unreadable_files_name_themselves(tmp_path, name, content):
    (tmp_path / 'bag').mkdir()
    storage = tmp_path / 'bag' / name
    storage.write_bytes(content)
    with pytest.raises(BagReadError, match=str(storage)):
        list(read_messages(tmp_path / 'bag'))
    messages, problems = load_messages(tmp_path / 'bag')
    assert messages == [] and [problem.path for problem in problems] == [str(storage)]


def test_bad_metadata_falls_back_to_the_storage_files(bag):
    path, storage = bag
    (path / 'metadata.yaml').write_text('rosbag2_bagfile_information: [1, 2')
    with pytest.raises(BagReadError, match='metadata.yaml'):
        list(read_messages(path))
    messages, problems = load_messages(path)
    assert len(messages) == COUNT
    assert [problem.path for problem in problems] == [str(path / 'metadata.yaml')]


def test_missing_storage_file_is_named(bag, tmp_path):
    path, storage = bag
    shutil.move(storage, tmp_path / storage.name)
    with pytest.raises(BagReadError, match=f'{storage}: listed in metadata.yaml but missing'):
        list(read_messages(path))
