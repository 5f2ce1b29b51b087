"""
The robots the graph can drive: one description each, in one registry.

`ROBOTS` maps a robot's name to its RobotDescription (robots.description). The
millirobot, the differential-drive base (diff_drive) and the paper's half-cheetah
(half_cheetah) and ant (ant) are registered here. A user's robot is a module that
calls `register_robot`, found in every process (each node, the CLI) in one of two
ways: an entry point of the group `meta_mpc_ros.robots` in the package that holds it,
or its module name in the environment variable META_MPC_ROBOTS (comma-separated, on
PYTHONPATH). See CONTRIBUTING.md, "A new robot". The `robot` parameter of the nodes and
the `robot` launch argument take the registry's names.
"""

from importlib import import_module, metadata
import os

from meta_mpc_ros.robots.ant import ANT
from meta_mpc_ros.robots.description import RobotDescription
from meta_mpc_ros.robots.diff_drive import DIFF_DRIVE
from meta_mpc_ros.robots.half_cheetah import HALF_CHEETAH
from meta_mpc_ros.robots.millirobot import MILLIROBOT

ROBOTS = {}
# Modules of users' robots, imported when the registry is: comma-separated names.
MODULES_VARIABLE = 'META_MPC_ROBOTS'
ENTRY_POINT_GROUP = 'meta_mpc_ros.robots'
# The robot the nodes and the launch default to.
DEFAULT_ROBOT = MILLIROBOT.name


def register_robot(description, replace=False):
    """
    Add a robot to ROBOTS.

    :param description: RobotDescription.
    :param replace: allow replacing a robot of the same name.
    :return: the description.
    :raises ValueError: for a name already registered (without `replace`).
    """
    if not isinstance(description, RobotDescription):
        raise TypeError(f'expected a RobotDescription, got {type(description).__name__}')
    if description.name in ROBOTS and not replace:
        raise ValueError(f'robot {description.name!r} is already registered')
    ROBOTS[description.name] = description
    return description


def robot_description(name):
    """
    Return the RobotDescription registered under a name.

    :raises ValueError: for an unknown robot, listing the known ones.
    """
    if name not in ROBOTS:
        raise ValueError(f'unknown robot {name!r}; choose one of {tuple(ROBOTS)}')
    return ROBOTS[name]


def path_tasks(name):
    """Return the reference tasks a robot follows: its description's, () if it has none."""
    return ROBOTS[name].tasks if name in ROBOTS else ()


def load_user_robots():
    """Import the modules of the entry points and of META_MPC_ROBOTS (they register)."""
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        entry_point.load()
    for name in os.environ.get(MODULES_VARIABLE, '').split(','):
        if name.strip():
            try:
                import_module(name.strip())
            except ModuleNotFoundError as error:
                if error.name != name.strip():
                    raise
                raise ModuleNotFoundError(f'{MODULES_VARIABLE} names {name.strip()!r}, which is '
                                          'not on PYTHONPATH', name=error.name) from None


register_robot(MILLIROBOT)
register_robot(DIFF_DRIVE)
register_robot(HALF_CHEETAH)
register_robot(ANT)
load_user_robots()
