"""Shared fixtures: DDS isolation for every process a test starts."""

import os
import random
import sys

import pytest

_RANDOM = random.SystemRandom()

# Tests import the installed package (make test installs it into .venv); processes
# they start must find the same interpreter and keep DDS on loopback.
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('ROS_LOCALHOST_ONLY', '1')
os.environ.setdefault('ROS_DOMAIN_ID', str(_RANDOM.randint(1, 100)))
os.environ.setdefault('MUJOCO_GL', 'egl')


def fresh_domain_id():
    """Return a DDS domain id for one test, different from the run's own."""
    taken = int(os.environ['ROS_DOMAIN_ID'])
    return _RANDOM.choice([domain for domain in range(1, 101) if domain != taken])


@pytest.fixture
def ros_env():
    """Environment for processes of one test: loopback DDS in a domain of its own."""
    env = dict(os.environ)
    env['ROS_DOMAIN_ID'] = str(fresh_domain_id())
    env['PYTHONUNBUFFERED'] = '1'
    return env


@pytest.fixture
def python():
    """Path of the interpreter running the tests (the .venv one under make test)."""
    return sys.executable
