"""
Keep DDS discovery on this machine, with the variable the ROS 2 distro in use reads.

Humble reads ROS_LOCALHOST_ONLY=1. Iron and later (Jazzy) read
ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, and print two warnings in every process when
ROS_LOCALHOST_ONLY is set too. The distro is ROS_DISTRO when a sourced setup set it,
else the installed rclpy's major version (Humble ships 3.x, Jazzy 7.x). No ROS package
is imported, so the tests' conftest and the demo call this before rclpy loads.
"""

import fcntl
import importlib.metadata
import os
import pathlib
import random
import tempfile

# A DDS domain is leased by holding an exclusive lock on its file: two runs on one
# machine (test runs, demos, benchmarks) never share a domain, and a run that dies frees
# its leases with its file descriptors.
LEASES = pathlib.Path(tempfile.gettempdir()) / 'meta_mpc_ros_dds_domains'
DOMAINS = range(1, 101)
_HELD = []      # leases this process keeps for its lifetime (isolate_dds)
# rclpy's major version of each distro that knows ROS_AUTOMATIC_DISCOVERY_RANGE (Iron on).
FIRST_RANGE_RCLPY = 4
RANGE_DISTROS_BEFORE = ('foxy', 'galactic', 'humble')


def reads_discovery_range(environ=None):
    """Return True when the distro in use reads ROS_AUTOMATIC_DISCOVERY_RANGE."""
    distro = (environ or os.environ).get('ROS_DISTRO', '').strip().lower()
    if distro:
        return distro not in RANGE_DISTROS_BEFORE
    try:
        major = int(importlib.metadata.version('rclpy').split('.')[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return True
    return major >= FIRST_RANGE_RCLPY


def keep_on_loopback(environ=None):
    """
    Set, in `environ` (default os.environ), the variable that keeps DDS on loopback.

    A variable the user set already is left as it is; the other one is not added.
    """
    environ = os.environ if environ is None else environ
    if 'ROS_LOCALHOST_ONLY' in environ or 'ROS_AUTOMATIC_DISCOVERY_RANGE' in environ:
        return environ
    if reads_discovery_range(environ):
        environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    else:
        environ['ROS_LOCALHOST_ONLY'] = '1'
    return environ


def lease_domain(exclude=()):
    """
    Lease a DDS domain id no other process on this machine holds.

    :param exclude: ids not to take.
    :return: (domain id, the open lock file: the lease lasts until it is closed).
    :raises RuntimeError: if every domain is held.
    """
    LEASES.mkdir(exist_ok=True)
    candidates = [domain for domain in DOMAINS if domain not in exclude]
    random.SystemRandom().shuffle(candidates)
    for domain in candidates:
        handle = open(LEASES / f'{domain}.lock', 'w')
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return domain, handle
    raise RuntimeError(f'every DDS domain in {DOMAINS} is held by another run')


def isolate_dds(environ=None):
    """
    Keep DDS on loopback, in a ROS domain of this run's own unless one is chosen.

    An unset or empty ROS_DOMAIN_ID (make exports an empty one) leases a free one for
    the rest of this process's life.
    """
    environ = keep_on_loopback(environ)
    if not environ.get('ROS_DOMAIN_ID', '').strip().isdigit():
        domain, lease = lease_domain()
        _HELD.append(lease)
        environ['ROS_DOMAIN_ID'] = str(domain)
    environ.setdefault('MUJOCO_GL', 'egl')
    return environ
