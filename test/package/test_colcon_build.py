"""colcon builds the package as a ROS 2 user would, and installs what `ros2 run` needs."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE_ITEMS = ['package.xml', 'setup.py', 'setup.cfg', 'resource', 'meta_mpc_ros',
                 'launch', 'config', 'urdf', 'rviz', 'models', 'scripts']
COLCON = pathlib.Path(sys.executable).parent / 'colcon'


def node_names():
    """Return the node executables that setup.py registers."""
    namespace = {}
    source = (ROOT / 'setup.py').read_text().split('def share_tree')[0]
    exec(compile(source.replace('from setuptools import find_packages, setup', ''),
                 'setup.py', 'exec'), namespace)
    return sorted(namespace['NODES'])


@pytest.fixture(scope='module')
def install_dir(tmp_path_factory):
    if not COLCON.exists():
        pytest.fail(f'colcon is not installed next to {sys.executable}; run make test')
    workspace = tmp_path_factory.mktemp('ws')
    source = workspace / 'src' / 'meta_mpc_ros'
    source.mkdir(parents=True)
    for item in PACKAGE_ITEMS:
        path = ROOT / item
        if path.is_dir():
            shutil.copytree(path, source / item,
                            ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        elif path.exists():
            shutil.copy2(path, source / item)
    result = subprocess.run([str(COLCON), 'build', '--event-handlers', 'console_direct-'],
                            cwd=workspace, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr
    return workspace / 'install' / 'meta_mpc_ros'


def test_node_executables_under_lib(install_dir):
    lib = install_dir / 'lib' / 'meta_mpc_ros'
    assert node_names(), 'setup.py registers no nodes'
    for name in node_names() + ['meta-mpc']:
        executable = lib / name
        assert executable.is_file(), f'{executable} missing'
        assert os.access(executable, os.X_OK), f'{executable} not executable'


def test_ament_index_marker_and_share(install_dir):
    marker = install_dir / 'share' / 'ament_index' / 'resource_index' / 'packages'
    assert (marker / 'meta_mpc_ros').is_file()
    share = install_dir / 'share' / 'meta_mpc_ros'
    assert (share / 'package.xml').is_file()
    assert (share / 'launch' / 'bringup.launch.py').is_file()
    for directory in ('config', 'urdf', 'rviz'):
        assert any((share / directory).iterdir()), f'share/{directory} is empty'


def test_installed_entry_points_import(install_dir):
    site = next(install_dir.glob('lib/python3*/site-packages'))
    env = dict(os.environ, PYTHONPATH=str(site))
    modules = ['meta_mpc_ros.cli'] + [
        f'meta_mpc_ros.ros.{name}' for name in node_names()]
    code = 'import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)\n' \
           'import meta_mpc_ros; print(meta_mpc_ros.__file__)'
    # cwd outside the checkout: `python -c` puts the working directory first on sys.path.
    result = subprocess.run([sys.executable, '-c', code] + modules, env=env,
                            cwd=install_dir, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(site))
