"""Layer rules: the core imports no ROS and no MuJoCo; code stays Humble-compatible."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / 'meta_mpc_ros'
ROS_OR_SIM = ('rclpy', 'mujoco', 'std_msgs', 'geometry_msgs', 'nav_msgs', 'sensor_msgs',
              'visualization_msgs', 'rosgraph_msgs', 'diagnostic_msgs', 'builtin_interfaces',
              'rosbags', 'ament_index_python', 'tf2_ros', 'gymnasium')


def imported_modules(path):
    """Return the top-level names of every module that a file imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split('.')[0])
    return names


def test_core_sources_import_no_ros_or_mujoco():
    offenders = {}
    for path in sorted((PACKAGE / 'core').rglob('*.py')):
        bad = imported_modules(path) & set(ROS_OR_SIM)
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert not offenders, offenders


def test_importing_core_loads_no_ros_or_mujoco():
    modules = sorted('meta_mpc_ros.core.' + '.'.join(path.relative_to(PACKAGE / 'core')
                                                     .with_suffix('').parts)
                     for path in (PACKAGE / 'core').rglob('*.py')
                     if path.name != '__init__.py')
    code = ('import importlib, sys\n'
            'for name in sys.argv[2:]: importlib.import_module(name)\n'
            'banned = sys.argv[1].split(",")\n'
            'print(sorted(m for m in sys.modules if m.split(".")[0] in banned))\n')
    result = subprocess.run([sys.executable, '-c', code, ','.join(ROS_OR_SIM),
                             'meta_mpc_ros.core'] + modules,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[]'


def test_sim_imports_no_ros():
    ros = set(ROS_OR_SIM) - {'mujoco', 'gymnasium'}
    for path in sorted((PACKAGE / 'sim').rglob('*.py')):
        assert not imported_modules(path) & ros, path


def python_files():
    """Return every Python file the package ships or runs."""
    files = sorted(PACKAGE.rglob('*.py')) + sorted((ROOT / 'launch').glob('*.py'))
    files += sorted((ROOT / 'scripts' / 'lib').iterdir()) + [ROOT / 'setup.py']
    return files


def test_python_3_10_syntax():
    # Humble runs Python 3.10.
    for path in python_files():
        ast.parse(path.read_text(), filename=str(path), feature_version=(3, 10))


def test_no_rclpy_api_newer_than_humble():
    newer = ('try_shutdown', 'autostart=', 'add_pre_set_parameters_callback',
             'add_post_set_parameters_callback', 'with rclpy.init(')
    for path in python_files():
        text = path.read_text()
        for name in newer:
            assert name not in text, f'{path}: {name} is not in Humble'
