"""
Start graph_probe.py beside a running node graph, and read what it saw.

Shared by the system tests (test/ros/test_system_*.py, test_external_robot.py), which
import it from test/helpers (on sys.path through test/conftest.py).
"""

import pathlib
import subprocess
import sys

from meta_mpc_ros.ros.state_estimator_node import PARAMETERS as ESTIMATOR_PARAMETERS

PROBE = pathlib.Path(__file__).resolve().parent / 'graph_probe.py'
# States (and so commands) per second of sim time: the estimator's default rate.
CONTROL_RATE_HZ = next(spec.default for spec in ESTIMATOR_PARAMETERS
                       if spec.name == 'control_rate_hz')


def probe(env, seconds, out, nan_at=None, ros_args=(), until_commanded=None, linger=None):
    """
    Start the listener; return the process once it is subscribed.

    :param env: environment of the graph's processes (its ROS domain).
    :param seconds: how long it listens (wall s); it then writes `out` and exits.
    :param out: JSON file of what it saw.
    :param nan_at: publish one Odometry full of NaN at this time (s), or None.
    :param ros_args: ROS arguments, e.g. ('-r', '/odom:=/robot/odom').
    :param until_commanded: stop earlier, once the odometry stamps have advanced this
        many sim seconds since the first command (its JSON's `until_reached`; it prints
        'reached', which `reached` reads), or None.
    :param linger: with until_commanded, listen this much longer (wall s) once reached.
    """
    command = [sys.executable, str(PROBE), str(seconds), str(out)]
    if nan_at is not None:
        command += ['--publish-nan-odometry', str(nan_at)]
    if until_commanded is not None:
        command += ['--until-commanded', str(until_commanded)]
    if linger is not None:
        command += ['--linger', str(linger)]
    if ros_args:
        command += ['--ros-args', *ros_args]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == 'ready'
    return process


def reached(process):
    """
    Wait until the probe says its until_commanded was reached; return whether it was.

    The wait is bounded by the probe's own SECONDS: a probe that runs out exits without
    saying it, and this returns False.
    """
    return process.stdout.readline().strip() == 'reached'


def statuses(seen, name):
    """Return (time, status) of every diagnostics status whose name contains `name`."""
    return [(t, status) for t, status in seen['diagnostics'] if name in status['name']]


def sim_seconds(odom, start, end):
    """
    Return how far sim time advanced between two probe times (wall s since it started).

    :param odom: the probe's /odom entries [time, x, y, stamp (sim s)].
    """
    stamps = [entry[3] for entry in odom if start < entry[0] < end]
    return stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0


def control_periods(odom, start, end):
    """Return how many control periods of sim time passed between two probe times."""
    return sim_seconds(odom, start, end) * CONTROL_RATE_HZ
