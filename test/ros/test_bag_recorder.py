"""bag_recorder as a real process recording real rclpy publishers over DDS."""

import pathlib
import queue
import signal
import subprocess
import threading
import time

from meta_mpc_ros.data.bag_reader import BagReader, load_messages, read_messages
from meta_mpc_ros.data.bag_repair import repair_bag
import pytest
from rosbags.highlevel import AnyReader
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
PUBLISHER = ROOT / 'test' / 'helpers' / 'bag_publisher.py'
TOPICS = {'/odom': 'nav_msgs/msg/Odometry', '/meta_mpc/terrain': 'std_msgs/msg/String'}
WAIT_S = 60.0   # wall s: the most a wait for the recorder may take


class Process:
    """A child process whose merged output is collected by a thread."""

    def __init__(self, command, env):
        self.popen = subprocess.Popen(command, env=dict(env, PYTHONPATH=str(ROOT)),
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True)
        self.lines = []
        self._queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.popen.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text, timeout=30.0):
        """Return the first output line containing text; fail after timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if text in line:
                return line
        pytest.fail(f'no {text!r} in the output:\n' + ''.join(self.lines))

    def stop(self, signum, timeout=30.0):
        """Send signum and return the exit code."""
        self.popen.send_signal(signum)
        return self.popen.wait(timeout=timeout)

    def close(self):
        """Kill the process if it still runs."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()


@pytest.fixture
def processes():
    """Start processes for a test and make sure none outlives it."""
    started = []

    def start(command, env):
        started.append(Process(command, env))
        return started[-1]

    yield start
    for process in started:
        process.close()


def recorder_command(python, bag, *parameters):
    """Return the command line of a bag_recorder process writing TOPICS to bag."""
    # Only the publisher's topics: the default list has /diagnostics, where the
    # recorder reports itself.
    command = [python, '-m', 'meta_mpc_ros.ros.bag_recorder', '--ros-args',
               '-p', f'output_dir:={bag}', '-p', f'topics:={list(TOPICS)}']
    for parameter in parameters:
        command += ['-p', parameter]
    return command


def published(publisher):
    """Return (Odometry count, String count) from the publisher's last line."""
    line = publisher.wait_for('published', timeout=60)
    _, odometry, strings = line.split()
    return int(odometry), int(strings)


@pytest.mark.parametrize('storage, signum', [('mcap', signal.SIGINT),
                                             ('sqlite3', signal.SIGTERM)])
def test_signal_closes_a_complete_bag(ros_env, python, tmp_path, processes, storage, signum):
    bag = tmp_path / 'bag'
    recorder = processes(recorder_command(python, bag, f'storage:={storage}'), ros_env)
    assert str(bag) in recorder.wait_for('recording to')
    start_ns = time.time_ns()
    publisher = processes([python, str(PUBLISHER), '2'], ros_env)
    odometry_count, string_count = published(publisher)
    assert publisher.popen.wait(timeout=30) == 0
    assert recorder.stop(signum) == 0
    stopped_ns = time.time_ns()

    info = yaml.safe_load((bag / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    assert info['version'] == 8 and info['storage_identifier'] == storage
    assert info['message_count'] == odometry_count + string_count
    with BagReader(bag) as reader:
        assert reader.topics == TOPICS
        messages = list(reader)
        assert reader.notes == []
    odometry = [m for m in messages if m.topic == '/odom']
    # The publisher waits for the recorder's subscriptions: reliable QoS delivers all.
    assert [m.message.pose.pose.position.x for m in odometry] == list(range(odometry_count))
    assert [m.message.data for m in messages if m.topic == '/meta_mpc/terrain'] == \
        [f'terrain {number}' for number in range(string_count)]
    stamps = [m.timestamp_ns for m in messages]
    # Receive time on the system clock: after the publisher started, before the recorder
    # stopped (however late a loaded host delivers the last messages).
    assert stamps == sorted(stamps) and start_ns <= stamps[0] and stamps[-1] <= stopped_ns
    with AnyReader([bag]) as reader:
        assert {c.topic: c.msgcount for c in reader.connections} == \
            {'/odom': odometry_count, '/meta_mpc/terrain': string_count}


def flushed_odometry(bag):
    """Return how many Odometry the bag being written holds on disk now (0 if none yet)."""
    try:
        messages, _ = load_messages(bag, topics=['/odom'])
    except Exception:       # no storage file yet, or only its first bytes
        return 0
    return len(messages)


def test_sigkill_loses_only_what_was_not_flushed(ros_env, python, tmp_path, processes):
    # Counted on what the bag held on disk before the kill, not in wall time: the test
    # waits (at most WAIT_S) until the running recorder has flushed at least 50 Odometry
    # and then flushed again (periodic flushes, not only at close), then kills it; all
    # of those must read back, as a gapless prefix of what was published.
    bag = tmp_path / 'bag'
    recorder = processes(recorder_command(python, bag), ros_env)
    recorder.wait_for('recording to')
    publisher = processes([python, str(PUBLISHER), '30'], ros_env)
    publisher.wait_for('publishing')
    deadline = time.monotonic() + WAIT_S
    first = 0
    while first < 50 and time.monotonic() < deadline:
        time.sleep(0.1)
        first = flushed_odometry(bag)
    flushed = first
    while flushed <= first and time.monotonic() < deadline:
        time.sleep(0.1)
        flushed = flushed_odometry(bag)
    assert 50 <= first < flushed, (first, flushed)
    killed_ns = time.time_ns()
    assert recorder.stop(signal.SIGKILL) == -signal.SIGKILL
    assert not (bag / 'metadata.yaml').exists()

    messages, problems = load_messages(bag)
    assert all('truncated' in problem.message for problem in problems), problems
    odometry = [m for m in messages if m.topic == '/odom']
    assert [m.message.pose.pose.position.x for m in odometry] == list(range(len(odometry)))
    assert len(odometry) >= flushed
    lost_s = (killed_ns - odometry[-1].timestamp_ns) / 1e9
    print(f'recorder: {len(odometry)} Odometry recovered, last {lost_s:.3f} s lost')
    assert repair_bag(bag).message_count == len(messages)
    assert len(list(read_messages(bag))) == len(messages)


def test_stamps_follow_sim_time(ros_env, python, tmp_path, processes):
    bag = tmp_path / 'bag'
    recorder = processes(recorder_command(python, bag, 'use_sim_time:=true'), ros_env)
    recorder.wait_for('recording to')
    publisher = processes([python, str(PUBLISHER), '1.5', 'sim'], ros_env)
    odometry_count, _ = published(publisher)
    assert recorder.stop(signal.SIGINT) == 0
    info = yaml.safe_load((bag / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    assert info['custom_data']['timestamps'] == 'receive time, /clock'

    odometry = list(read_messages(bag, topics=['/odom']))
    # A message that arrives before the first /clock is dropped, so allow a few.
    assert len(odometry) >= odometry_count - 5
    for message in odometry:
        stamp = message.message.header.stamp
        header_ns = stamp.sec * 10**9 + stamp.nanosec
        # /clock runs from 1000 s; the receive time is the /clock of that tick or the
        # one before it (20 ms apart), never the wall clock.
        assert 1000 * 10**9 <= message.timestamp_ns < 1010 * 10**9
        assert abs(message.timestamp_ns - header_ns) <= 200_000_000


@pytest.mark.parametrize('parameter, reason', [('storage:=rosbag1', 'storage'),
                                               ('flush_period_s:=5.0', 'flush_period_s')])
def test_bad_parameters_stop_the_recorder(ros_env, python, tmp_path, parameter, reason):
    result = subprocess.run(recorder_command(python, tmp_path / 'bag', parameter),
                            env=dict(ros_env, PYTHONPATH=str(ROOT)), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert reason in result.stderr and 'cannot start' in result.stderr
    assert not (tmp_path / 'bag').exists()


def test_existing_output_dir_is_never_overwritten(ros_env, python, tmp_path):
    (tmp_path / 'bag').mkdir()
    result = subprocess.run(recorder_command(python, tmp_path / 'bag'),
                            env=dict(ros_env, PYTHONPATH=str(ROOT)), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1 and 'exists already' in result.stderr
    assert list((tmp_path / 'bag').iterdir()) == []
