"""
Tolerant rosbag2 sqlite3 reading: committed rows survive a crash, damage is skipped.

A sqlite3 database keeps every committed transaction. A writer killed with a
transaction open (rosbag2 writers always have one) leaves a `-journal` (or, in WAL
mode, a `-wal`) file next to it, and pages of the open transaction may already be in
the database file; only sqlite's rollback makes it consistent, and reading with
`immutable=1`, as rosbags does, skips that. When such a file exists this reader
copies the database and its journal into a temporary directory and lets sqlite roll
back (or replay the WAL) there, so the bag itself is never modified.

Rows are read in time order through the timestamp index. If the database is
damaged (truncated or overwritten pages), the rows read so far are kept, the
problem is reported, and the remaining rows are salvaged by a scan in row-id order
that skips over unreadable pages.
"""

import pathlib
import shutil
import sqlite3
import tempfile

from meta_mpc_ros.data.bag_types import SQLITE3, TopicInfo

# After a read error at row id N, the salvage scan retries from N + 1, N + 2, N + 4,
# ... up to this many doublings (2**40 rows is far beyond any bag).
_MAX_SKIP_DOUBLINGS = 40
_MAX_RETRIES = 1000


def _expected_size(header):
    """Return the database size its 100-byte header declares (0 when not recorded)."""
    page_size = int.from_bytes(header[16:18], 'big')
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], 'big')
    # The page count is valid only when the change counter matches version-valid-for.
    return page_size * pages if header[24:28] == header[92:96] else 0


def _columns(connection, table):
    """Return the column names of a table ([] when it does not exist)."""
    return [row[1] for row in connection.execute(f'PRAGMA table_info({table})')]


class SqliteFile:
    """
    One `.db3` storage file of a rosbag2 bag (schema versions 1 to 4).

    Attributes after construction: `connections` (topic id -> TopicInfo), `problems`,
    `notes`, `complete` (no leftover journal) and `message_count`.

    :param path: the `.db3` file.
    """

    storage_id = SQLITE3

    def __init__(self, path):
        """Open the database read-only; damage is recorded in `problems`, never raised."""
        self.path = pathlib.Path(path)
        self.connections = {}
        self.problems = []
        self.notes = []
        self.complete = True
        self.message_count = 0
        self._tmp = None
        self._db = None
        try:
            self._db = self._open()
            self._read_topics()
        except sqlite3.Error as err:
            self.problems.append(f'cannot read the database: {err}')
            self.connections = {}

    def _open(self):
        """Connect read-only, or to a repaired copy (journal rolled back, truncation padded)."""
        with self.path.open('rb') as stream:
            header = stream.read(100)
        if len(header) < 100 or not header.startswith(b'SQLite format 3\0'):
            raise sqlite3.DatabaseError(f'not an SQLite database ({len(header)}-byte header)')
        expected = _expected_size(header)
        size = self.path.stat().st_size
        sidecars = [self.path.with_name(self.path.name + end) for end in ('-journal', '-wal')]
        leftovers = [path for path in sidecars if path.exists() and path.stat().st_size]
        if size >= expected and not leftovers:
            uri = self.path.resolve().as_uri() + '?immutable=1'
            return sqlite3.connect(uri, uri=True)
        self._tmp = tempfile.TemporaryDirectory(prefix='bag_sqlite_')
        copy = pathlib.Path(self._tmp.name) / self.path.name
        shutil.copyfile(self.path, copy)
        if size < expected:
            # sqlite refuses a file shorter than its header says; zero pages read as damage.
            self.problems.append(f'truncated: {size} of {expected} bytes; the rows in the '
                                 'missing pages are lost')
            with copy.open('r+b') as stream:
                stream.truncate(expected)
        if leftovers:
            self.complete = False
            self.notes.append(f'{leftovers[0].name} left behind: the writer stopped with a '
                              'transaction open; read from a copy rolled back to its last commit')
            for sidecar in leftovers:
                shutil.copyfile(sidecar, copy.with_name(sidecar.name))
        database = sqlite3.connect(copy)
        database.execute('SELECT count(*) FROM sqlite_master').fetchone()
        return database

    def close(self):
        """Close the database and remove any temporary copy."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _read_topics(self):
        """Read the topics table and any message definitions (schema 4)."""
        database = self._db
        topic_columns = _columns(database, 'topics')
        if not topic_columns or not _columns(database, 'messages'):
            raise sqlite3.DatabaseError('not a rosbag2 database (no topics or messages table)')
        definitions = {}
        if _columns(database, 'message_definitions'):
            for msgtype, fmt, text in database.execute(
                    'SELECT topic_type, encoding, encoded_message_definition '
                    'FROM message_definitions'):
                definitions[msgtype] = (fmt, text)
        qos = 'offered_qos_profiles' if 'offered_qos_profiles' in topic_columns else "''"
        digest = 'type_description_hash' if 'type_description_hash' in topic_columns else "''"
        rows = database.execute(f'SELECT id, name, type, serialization_format, {qos}, {digest} '
                                'FROM topics ORDER BY id').fetchall()
        for key, topic, msgtype, fmt, offered, type_hash in rows:
            msgdef_format, msgdef = definitions.get(msgtype, ('', ''))
            self.connections[key] = TopicInfo(topic, msgtype, msgdef_format, msgdef,
                                              type_hash or '', fmt, offered or '')
        try:
            (self.message_count,) = database.execute('SELECT count(*) FROM messages').fetchone()
        except sqlite3.DatabaseError:
            self.message_count = -1

    def messages(self, topic_ids, report):
        """
        Yield messages of the given topics in time order.

        :param topic_ids: topic ids (keys of `connections`) to read.
        :param report: function(problem string), called when damage is found.
        :return: iterator of (timestamp ns, topic id, CDR bytes).
        """
        if self._db is None or not topic_ids:
            return
        ids = sorted(topic_ids)
        marks = ','.join('?' * len(ids))
        last = None
        try:
            for row_id, topic, timestamp, data in self._db.execute(
                    f'SELECT id, topic_id, timestamp, data FROM messages WHERE topic_id IN '
                    f'({marks}) ORDER BY timestamp, id', ids):
                last = (timestamp, row_id)
                yield timestamp, topic, data
            return
        except sqlite3.DatabaseError as err:
            report(f'damaged database ({err}) after '
                   f'{"the start" if last is None else f"row {last[1]}"}; salvaging the rest')
        rows = [(timestamp, row_id, topic, data)
                for row_id, topic, timestamp, data in self._salvage(ids, report)
                if last is None or (timestamp, row_id) > last]
        rows.sort()
        for timestamp, _, topic, data in rows:
            yield timestamp, topic, data

    def _salvage(self, ids, report):
        """Yield every readable row in row-id order, jumping over unreadable pages."""
        marks = ','.join('?' * len(ids))
        query = (f'SELECT id, topic_id, timestamp, data FROM messages WHERE id >= ? '
                 f'AND topic_id IN ({marks}) ORDER BY id')
        start, skip, retries, failed_at = 0, 1, 0, None
        while retries < _MAX_RETRIES and skip < 2 ** _MAX_SKIP_DOUBLINGS:
            last = None
            try:
                for row in self._db.execute(query, [start] + ids):
                    last = row[0]
                    yield row
                break
            except sqlite3.DatabaseError:
                retries += 1
                if last is not None:
                    failed_at, skip = last, 1
                elif failed_at is None:
                    failed_at = start
                start = failed_at + skip
                skip *= 2
        if failed_at is not None:
            report(f'rows from id {failed_at} on are partly unreadable; '
                   'the readable ones were kept')
