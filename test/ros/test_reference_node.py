"""reference_node as a process over DDS: latched path, dynamic task, rejected values."""

import contextlib
import math
import signal
import subprocess
import sys
import threading
import time

from meta_mpc_ros.core.reference import ReferencePath
from meta_mpc_ros.paths import executable_dir
import numpy as np


class Output:
    """Collect a process's output lines in a thread, so tests can wait for one."""

    def __init__(self, process):
        self.lines = []
        self.thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self.thread.start()

    def _read(self, process):
        for line in process.stdout:
            self.lines.append(line)

    def wait_for(self, text, timeout):
        """Return True once a line containing text has been printed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return True
            time.sleep(0.05)
        return False

    @property
    def text(self):
        """Return everything printed so far."""
        return ''.join(self.lines)


@contextlib.contextmanager
def reference_node(env, *parameters):
    """Run reference_node with `-p` parameters; always stop it (SIGINT, then kill)."""
    command = [str(executable_dir() / 'reference_node'), '--ros-args']
    for parameter in parameters:
        command += ['-p', parameter]
    process = subprocess.Popen([sys.executable, *command], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    output = Output(process)
    try:
        yield process, output
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def assert_is_path(message, task):
    """Check a Path message against ReferencePath.make(task) with default scale/spacing."""
    expected = ReferencePath.make(task, scale=0.5, spacing=0.01)
    assert message.header.frame_id == 'odom'
    points = np.array([[p.pose.position.x, p.pose.position.y] for p in message.poses])
    assert points.shape == expected.points.shape
    np.testing.assert_allclose(points, expected.points, atol=1e-12)
    # Each pose is turned to the path heading: yaw = 2 atan2(z, w) for a pure yaw.
    yaws = np.array([2.0 * math.atan2(p.pose.orientation.z, p.pose.orientation.w)
                     for p in message.poses])
    wrapped = (yaws - expected.headings + math.pi) % (2 * math.pi) - math.pi
    np.testing.assert_allclose(wrapped, 0.0, atol=1e-9)


def test_latched_path_reaches_a_late_subscriber_and_task_changes_republish(
        ros_env, ros_probe_class):
    # A period of an hour: within the test only latching and changes can deliver paths.
    with reference_node(ros_env, 'task:=left_turn', 'publish_period_s:=3600.0') as (
            process, output):
        assert output.wait_for('reference: left_turn', 20), output.text
        probe = ros_probe_class(ros_env['ROS_DOMAIN_ID'])
        try:
            probe.subscribe_reference(latched=True)  # joins after the path was published
            assert probe.spin_until(lambda: len(probe.paths) >= 1, 15), output.text
            assert_is_path(probe.paths[0], 'left_turn')
            probe.spin_for(0.5)
            assert len(probe.paths) == 1

            results = probe.set_parameters('reference_node', task='zigzag')
            assert results[0].successful, results[0].reason
            assert probe.spin_until(lambda: len(probe.paths) >= 2, 5)
            assert_is_path(probe.paths[1], 'zigzag')
            first, second = (path.header.stamp for path in probe.paths[:2])
            assert (second.sec, second.nanosec) > (first.sec, first.nanosec)

            rejected = {
                'task': ('circle', "'circle' is not one of"),
                'scale': (-1.0, '-1.0'),  # rclpy's descriptor range check answers
                'frame_id': ('map', 'read-only'),
            }
            for name, (value, reason) in rejected.items():
                result = probe.set_parameters('reference_node', **{name: value})[0]
                assert not result.successful and reason in result.reason, (name, result)
            # 100 m at 1 cm spacing would be a figure-8 of 63 000 poses.
            result = probe.set_parameters('reference_node', scale=100.0)[0]
            assert not result.successful and 'too many points' in result.reason
            probe.spin_for(0.5)
            assert len(probe.paths) == 2
        finally:
            probe.close()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0, output.text


def test_unchanged_path_is_republished_every_period_with_its_stamp(ros_env, ros_probe_class):
    with reference_node(ros_env, 'task:=straight', 'publish_period_s:=0.2') as (_, output):
        probe = ros_probe_class(ros_env['ROS_DOMAIN_ID'])
        try:
            probe.subscribe_reference(latched=False)
            assert probe.spin_until(lambda: len(probe.paths) >= 4, 20), output.text
        finally:
            probe.close()
    assert_is_path(probe.paths[-1], 'straight')
    # A repeat keeps the stamp of the path it repeats.
    assert len({(p.header.stamp.sec, p.header.stamp.nanosec) for p in probe.paths}) == 1


def test_bad_task_at_start_exits_with_the_reason(ros_env):
    with reference_node(ros_env, 'task:=circle') as (process, output):
        assert process.wait(timeout=20) == 1
    assert "task: 'circle' is not one of" in output.text
