"""
Where the package's installed data (config, urdf, launch, rviz, models) lives.

Three layouts are supported, tried in this order:
    a source checkout (the package imported from a tree that holds package.xml);
    a colcon install (found through the ament index, AMENT_PREFIX_PATH);
    a pip install (data_files under sys.prefix/share/meta_mpc_ros).
"""

import os
import pathlib
import sys

PACKAGE = 'meta_mpc_ros'


def share_dir():
    """Return the directory that holds launch/, config/, urdf/, rviz/ and models/."""
    source = pathlib.Path(__file__).resolve().parent.parent
    if (source / 'package.xml').is_file() and (source / 'config').is_dir():
        return source
    for prefix in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep):
        candidate = pathlib.Path(prefix) / 'share' / PACKAGE
        if prefix and (candidate / 'package.xml').is_file():
            return candidate
    candidate = pathlib.Path(sys.prefix) / 'share' / PACKAGE
    if (candidate / 'package.xml').is_file():
        return candidate
    raise FileNotFoundError(
        f'cannot find the {PACKAGE} share directory: not a source checkout, not in '
        'AMENT_PREFIX_PATH and not under sys.prefix/share; is the package installed?')


def share_path(*parts):
    """Return a path inside the share directory from its parts ('urdf', 'millirobot.urdf')."""
    return share_dir().joinpath(*parts)


def executable_dir():
    """Return lib/meta_mpc_ros, where the node executables are installed."""
    for prefix in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep):
        candidate = pathlib.Path(prefix) / 'lib' / PACKAGE
        if prefix and candidate.is_dir():
            return candidate
    candidate = pathlib.Path(sys.prefix) / 'lib' / PACKAGE
    if candidate.is_dir():
        return candidate
    raise FileNotFoundError(
        f'cannot find lib/{PACKAGE}: install the package (make venv, pip install . '
        'or colcon build and source install/setup.bash)')
