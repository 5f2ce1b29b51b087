"""ament_flake8 (99 columns, ROS 2's configuration) over every Python file we ship."""

import pathlib

from ament_flake8.main import main_with_errors

ROOT = pathlib.Path(__file__).resolve().parents[2]
PATHS = ['meta_mpc_ros', 'test', 'launch', 'tools', 'setup.py'] + [
    str(path.relative_to(ROOT)) for path in sorted((ROOT / 'scripts' / 'lib').iterdir())]


def test_flake8():
    rc, errors = main_with_errors(argv=[str(ROOT / path) for path in PATHS])
    assert rc == 0, f'Found {len(errors)} code style errors / warnings:\n' + '\n'.join(errors)
