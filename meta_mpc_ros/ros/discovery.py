"""
Keep DDS discovery on this machine, with the variable the ROS 2 distro in use reads.

Humble reads ROS_LOCALHOST_ONLY=1. Iron and later (Jazzy) read
ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, and print two warnings in every process when
ROS_LOCALHOST_ONLY is set too. The distro is ROS_DISTRO when a sourced setup set it,
else the installed rclpy's major version (Humble ships 3.x, Jazzy 7.x). No ROS package
is imported, so the tests' conftest and the demo call this before rclpy loads.
"""

import importlib.metadata
import os
import random

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


def isolate_dds(environ=None):
    """
    Keep DDS on loopback, in a ROS domain of this run's own unless one is chosen.

    An unset or empty ROS_DOMAIN_ID (make exports an empty one) draws one in 1..100.
    """
    environ = keep_on_loopback(environ)
    if not environ.get('ROS_DOMAIN_ID', '').strip().isdigit():
        environ['ROS_DOMAIN_ID'] = str(random.SystemRandom().randint(1, 100))
    environ.setdefault('MUJOCO_GL', 'egl')
    return environ
