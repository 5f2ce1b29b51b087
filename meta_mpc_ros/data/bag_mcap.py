"""
Tolerant MCAP reading: a record-by-record scan that survives truncation and damage.

rosbags' `McapReader` needs the file's footer, which a writer killed mid-recording
never wrote. This reader walks the data section record by record instead (MCAP:
opcode u8, length u64, body), as `mcap recover` does. It understands what rosbag2
writers produce: schema and channel records at top level or inside chunks, chunks
(uncompressed, zstd or lz4, with or without a CRC) and unchunked message records.

Damage does not stop the scan: a record that runs past the end of the file, an
invalid opcode, or a chunk whose CRC, decompression or inner records are bad is
reported (with its byte offset) and the scan resynchronises at the next chunk
record that is self-consistent, so the chunks after a damaged region are kept.
Inside a damaged chunk, the messages before the damage are kept.

Each chunk is decompressed once while scanning (for its schemas, channels and time
range) and again, lazily, while iterating; iteration merges chunks in time order
and holds only the chunks that overlap in time in memory.
"""

import heapq
import mmap
import pathlib
import struct

from meta_mpc_ros.data.bag_types import MCAP, TopicInfo
from rosbags.rosbag2.storage_mcap import decompress

MAGIC = b'\x89MCAP0\r\n'
OP_SCHEMA = 0x03
OP_CHANNEL = 0x04
OP_MESSAGE = 0x05
OP_CHUNK = 0x06
OP_FOOTER = 0x02
OP_DATA_END = 0x0F
COMPRESSIONS = (b'', b'zstd', b'lz4')

_RECORD = struct.Struct('<BQ')
_CHUNK_HEAD = struct.Struct('<QQQI')
_MESSAGE_HEAD = struct.Struct('<HIQQ')
_U16 = struct.Struct('<H')
_U32 = struct.Struct('<I')
_U64 = struct.Struct('<Q')


class _Chunk:
    """A chunk found by the scan: where it is and what its readable part holds."""

    __slots__ = ('offset', 'body', 'end', 'valid', 'first_time', 'channels')

    def __init__(self, offset, body, end, valid, first_time, channels):
        self.offset, self.body, self.end = offset, body, end
        self.valid, self.first_time, self.channels = valid, first_time, channels


def _sized(buf, offset, end):
    """Return (bytes, next offset) of a u32-length-prefixed field inside [offset, end)."""
    if offset + 4 > end:
        raise ValueError('a length field runs past the end of its record')
    (length,) = _U32.unpack_from(buf, offset)
    start = offset + 4
    if start + length > end:
        raise ValueError(f'a field of {length} bytes runs past the end of its record')
    return bytes(buf[start:start + length]), start + length


def _string(buf, offset, end):
    """Return (str, next offset) of an MCAP string inside [offset, end)."""
    raw, offset = _sized(buf, offset, end)
    return raw.decode('utf-8'), offset


def _inner_records(buf):
    """
    Split a chunk's decompressed records.

    :param buf: the records of one chunk.
    :return: (list of (opcode, body start, body end), error string or None, valid length).
    """
    items = []
    pos, size = 0, len(buf)
    while pos < size:
        if size - pos < 9:
            return items, f'{size - pos} stray bytes at offset {pos} in the chunk', pos
        op, length = _RECORD.unpack_from(buf, pos)
        end = pos + 9 + length
        if op == 0 or op > OP_DATA_END or end > size:
            return items, f'a damaged record at offset {pos} in the chunk', pos
        if op == OP_MESSAGE and length < _MESSAGE_HEAD.size:
            return items, f'a message record too short at offset {pos} in the chunk', pos
        items.append((op, pos + 9, end))
        pos = end
    return items, None, pos


def _has_footer(data):
    """Return whether the file ends with a footer record and the closing magic."""
    size = len(data)
    tail = 8 + 9 + 20
    if size < 8 + tail or data[size - 8:] != MAGIC or data[size - tail] != OP_FOOTER:
        return False
    return _U64.unpack_from(data, size - tail + 1)[0] == 20


class McapFile:
    """
    One `.mcap` storage file, read without trusting its footer or summary.

    Attributes after construction: `connections` (channel id -> TopicInfo),
    `problems` (damage, each a string with byte offsets), `notes` (the file was not
    closed, which loses nothing by itself), `complete` (footer present) and
    `message_count` (readable messages).

    :param path: the `.mcap` file.
    """

    storage_id = MCAP

    def __init__(self, path):
        """Map the file and scan it; damage is recorded in `problems`, never raised."""
        self.path = pathlib.Path(path)
        self.connections = {}
        self.problems = []
        self.notes = []
        self.complete = False
        self.message_count = 0
        self._schemas = {}
        self._channels = {}
        self._chunks = []
        self._loose = []
        self._data = b''
        with open(self.path, 'rb') as stream:
            if self.path.stat().st_size:
                self._data = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
        self._scan()
        self._connect()

    def close(self):
        """Release the file mapping."""
        if isinstance(self._data, mmap.mmap):
            self._data.close()
        self._data = b''

    def _scan(self):
        """Walk the data section, collecting schemas, channels, chunks and messages."""
        data = self._data
        size = len(data)
        if size < len(MAGIC) or data[:len(MAGIC)] != MAGIC:
            self.problems.append(f'not an MCAP file ({size} bytes, no MCAP magic at its start)')
            return
        self.complete = _has_footer(data)
        if not self.complete:
            self.notes.append('no MCAP footer: the writer did not close the file; '
                              'read by scanning its records')
        pos = len(MAGIC)
        while pos < size:
            if size - pos < 9:
                self.problems.append(f'truncated: {size - pos} stray bytes at byte {pos}, '
                                     f'the file ends at byte {size}')
                break
            op, length = _RECORD.unpack_from(data, pos)
            end = pos + 9 + length
            if op in (OP_DATA_END, OP_FOOTER) and end <= size:
                break
            if op == 0 or (OP_DATA_END < op < 0x80):
                pos = self._resync(pos, f'damaged: invalid record opcode 0x{op:02x} at byte {pos}')
                continue
            if end > size:
                pos = self._resync(pos, f'truncated: the record (opcode 0x{op:02x}) at byte {pos} '
                                   f'needs {length} bytes, the file ends at byte {size}')
                continue
            try:
                self._record(op, pos, pos + 9, end)
            except ValueError as err:
                self.problems.append(f'damaged record (opcode 0x{op:02x}) at byte {pos}: {err}')
            pos = end

    def _resync(self, pos, problem):
        """Record a problem and return the offset of the next self-consistent chunk."""
        data = self._data
        candidate = data.find(bytes([OP_CHUNK]), pos + 1)
        while candidate != -1:
            if self._plausible_chunk(candidate):
                self.problems.append(f'{problem}; resumed at the chunk at byte {candidate} '
                                     f'({candidate - pos} bytes skipped)')
                return candidate
            candidate = data.find(bytes([OP_CHUNK]), candidate + 1)
        self.problems.append(f'{problem}; nothing readable after it')
        return len(data)

    def _plausible_chunk(self, pos):
        """Return whether a whole, internally consistent chunk record starts at pos."""
        data = self._data
        if len(data) - pos < 9 + 40:
            return False
        op, length = _RECORD.unpack_from(data, pos)
        if op != OP_CHUNK or length < 40 or pos + 9 + length > len(data):
            return False
        try:
            records = self._chunk_records(pos + 9, pos + 9 + length)
        except ValueError:
            return False
        return _inner_records(records)[1] is None

    def _chunk_records(self, body, end):
        """Return the decompressed, CRC-checked records of the chunk whose body is [body, end)."""
        data = self._data
        if end - body < 40:
            raise ValueError('chunk header too short')
        _, _, size, crc = _CHUNK_HEAD.unpack_from(data, body)
        compression, offset = _sized(data, body + _CHUNK_HEAD.size, end)
        if compression not in COMPRESSIONS:
            raise ValueError(f'unknown compression {compression[:16]!r}')
        if offset + 8 > end:
            raise ValueError('chunk header too short')
        (stored,) = _U64.unpack_from(data, offset)
        offset += 8
        if offset + stored != end:
            raise ValueError('the chunk length fields disagree')
        try:
            return decompress(bytes(data[offset:end]), compression.decode(), size, crc)
        except Exception as err:  # zstd, lz4 and rosbags raise their own error types
            raise ValueError(f'cannot decode the chunk ({err})') from None

    def _record(self, op, pos, body, end):
        """Handle one top-level record."""
        if op == OP_SCHEMA:
            self._schema(self._data, body, end)
        elif op == OP_CHANNEL:
            self._channel(self._data, body, end)
        elif op == OP_MESSAGE:
            if end - body < _MESSAGE_HEAD.size:
                raise ValueError('message record too short')
            channel, _, log_time, _ = _MESSAGE_HEAD.unpack_from(self._data, body)
            self._loose.append((log_time, channel, body + _MESSAGE_HEAD.size, end))
            self.message_count += 1
        elif op == OP_CHUNK:
            self._scan_chunk(pos, body, end)

    def _scan_chunk(self, pos, body, end):
        """Register a chunk's schemas and channels and note its messages' time range."""
        try:
            records = self._chunk_records(body, end)
        except ValueError as err:
            self.problems.append(f'damaged chunk at byte {pos}: {err}; its messages are lost')
            return
        items, error, valid = _inner_records(records)
        if error:
            self.problems.append(f'damaged chunk at byte {pos}: {error}; the messages after '
                                 'it in this chunk are lost')
        first, channels = None, set()
        for op, start, stop in items:
            try:
                if op == OP_SCHEMA:
                    self._schema(records, start, stop)
                elif op == OP_CHANNEL:
                    self._channel(records, start, stop)
            except ValueError as err:
                self.problems.append(f'damaged record in the chunk at byte {pos}: {err}')
            if op == OP_MESSAGE:
                channel, _, log_time, _ = _MESSAGE_HEAD.unpack_from(records, start)
                first = log_time if first is None else min(first, log_time)
                channels.add(channel)
                self.message_count += 1
        if first is not None:
            self._chunks.append(_Chunk(pos, body, end, valid, first, frozenset(channels)))

    def _schema(self, buf, body, end):
        """Parse a schema record: id, name, encoding, definition."""
        if end - body < 2:
            raise ValueError('schema record too short')
        (key,) = _U16.unpack_from(buf, body)
        name, offset = _string(buf, body + 2, end)
        encoding, offset = _string(buf, offset, end)
        text, _ = _sized(buf, offset, end)
        self._schemas[key] = (name, encoding, text.decode('utf-8'))

    def _channel(self, buf, body, end):
        """Parse a channel record: id, schema id, topic, encoding, metadata map."""
        if end - body < 4:
            raise ValueError('channel record too short')
        key, schema = struct.unpack_from('<HH', buf, body)
        topic, offset = _string(buf, body + 4, end)
        encoding, offset = _string(buf, offset, end)
        raw, _ = _sized(buf, offset, end)
        metadata, pos = {}, 0
        while pos < len(raw):
            name, pos = _string(raw, pos, len(raw))
            metadata[name], pos = _string(raw, pos, len(raw))
        self._channels[key] = (schema, topic, encoding, metadata)

    def _connect(self):
        """Turn channels and their schemas into TopicInfo."""
        for key, (schema, topic, encoding, metadata) in sorted(self._channels.items()):
            if schema not in self._schemas:
                self.problems.append(f'topic {topic}: no schema record (type unknown); '
                                     'its messages are skipped')
                continue
            name, fmt, text = self._schemas[schema]
            self.connections[key] = TopicInfo(
                topic, name, fmt, text, metadata.get('topic_type_hash', ''), encoding,
                metadata.get('offered_qos_profiles', ''))

    def messages(self, channels, report=None):
        """
        Yield messages of the given channels in time order.

        :param channels: channel ids (keys of `connections`) to read.
        :param report: unused; damage was found and recorded by the scan.
        :return: iterator of (timestamp ns, channel id, CDR bytes).
        """
        channels = frozenset(channels)
        sources = [self._chunk_messages(index, chunk, channels)
                   for index, chunk in enumerate(self._chunks) if chunk.channels & channels]
        sources.append(self._loose_messages(len(self._chunks), channels))
        for timestamp, order, channel, data in heapq.merge(*sources):
            if order >= 0:
                yield timestamp, channel, data

    def _chunk_messages(self, index, chunk, channels):
        """Yield a sentinel at the chunk's first time, then its messages sorted by time."""
        yield chunk.first_time, -1 - index, 0, b''
        records = self._chunk_records(chunk.body, chunk.end)[:chunk.valid]
        items, _, _ = _inner_records(records)
        selected = []
        for number, (op, start, stop) in enumerate(items):
            if op != OP_MESSAGE:
                continue
            channel, _, log_time, _ = _MESSAGE_HEAD.unpack_from(records, start)
            if channel in channels:
                selected.append((log_time, (index << 32) | number, channel,
                                 bytes(records[start + _MESSAGE_HEAD.size:stop])))
        selected.sort()
        yield from selected

    def _loose_messages(self, index, channels):
        """Yield the unchunked message records, sorted by time."""
        loose = sorted((log_time, number, channel, start, stop) for number, (
            log_time, channel, start, stop) in enumerate(self._loose) if channel in channels)
        for log_time, number, channel, start, stop in loose:
            yield log_time, (index << 32) | number, channel, bytes(self._data[start:stop])
