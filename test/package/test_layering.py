"""Layer rules (CONTRIBUTING's table, row by row); code stays Humble-compatible."""

import ast
import pathlib
import re
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


def robot_names():
    """Return every robot the package knows: the registered ones and the simulated ones."""
    from meta_mpc_ros.robots import ROBOTS
    from meta_mpc_ros.sim.registry import environment_names
    return set(ROBOTS) | set(environment_names())


def test_core_names_no_robot():
    # The core is the same for every robot: a robot's name (half_cheetah or
    # half-cheetah alike) in a core source, even in a docstring, is robot knowledge
    # that belongs in its description (robots/) or its simulator (sim/).
    names = sorted(robot_names())
    assert 'millirobot' in names
    pattern = re.compile(r'(?<![a-z0-9])(' + '|'.join(
        re.escape(name).replace('_', '[_ -]') for name in names) + r')(?![a-z0-9])',
        re.IGNORECASE)
    offenders = {str(path.relative_to(ROOT)): sorted(set(pattern.findall(path.read_text())))
                 for path in sorted((PACKAGE / 'core').rglob('*.py'))
                 if pattern.search(path.read_text())}
    assert not offenders, offenders


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


def contributing_layers():
    """
    Return CONTRIBUTING's layer table as [(folders, banned names)].

    A banned name is a top-level module (rclpy, mujoco), 'message packages' (any
    *_msgs or *_interfaces package), or a folder of this package written `name/`.
    """
    text = (ROOT / 'CONTRIBUTING.md').read_text()
    rows = []
    for line in text.split('| folder | may import | never imports |')[1].splitlines()[2:]:
        if not line.startswith('|'):
            break
        folders, _, never = (cell.strip() for cell in line.strip('|').split('|'))
        folders = [PACKAGE / name.strip('`').removeprefix('meta_mpc_ros/')
                   for name in folders.split(', ')]
        banned = [] if never.startswith('—') else [item.strip().strip('`')
                                                   for item in never.split(',')]
        rows.append((folders, banned))
    return rows


def imported_names(path):
    """Return the full names of every module a file imports (any scope)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f'{node.module}.{alias.name}' for alias in node.names)
    return names


def is_banned(module, banned):
    """Return True if a module name falls under one of a row's banned names."""
    top = module.split('.')[0]
    for name in banned:
        if name == 'message packages':
            if top.endswith(('_msgs', '_interfaces')):
                return True
        elif name.endswith('/'):
            layer = f'meta_mpc_ros.{name[:-1]}'
            if module == layer or module.startswith(layer + '.'):
                return True
        elif top == name:
            return True
    return False


def test_the_layer_table_has_every_folder():
    rows = contributing_layers()
    listed = {folder.name for folders, _ in rows for folder in folders}
    assert listed == {'core', 'robots', 'sim', 'data', 'ros', 'pipeline', 'results', 'bench'}
    assert all(folder.is_dir() for folders, _ in rows for folder in folders)


def test_every_row_of_the_layer_table_holds():
    offenders = {}
    for folders, banned in contributing_layers():
        for folder in folders:
            for path in sorted(folder.rglob('*.py')):
                bad = sorted(name for name in imported_names(path) if is_banned(name, banned))
                if bad:
                    offenders[str(path.relative_to(ROOT))] = bad
    assert not offenders, offenders
