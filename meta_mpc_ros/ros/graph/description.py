"""
The node graph, described once: which nodes run, with which parameters.

`config/graph.yaml` lists the launch arguments and the nodes; `build_graph(values)`
checks the argument values and returns a `Graph` of `NodeEntry`s with parameter files,
parameter overrides, remappings and extra arguments resolved. Both
`launch/bringup.launch.py` (ros2 launch) and `meta_mpc_ros.ros.graph.launcher` (the
embedded launcher) turn those entries into processes, so the two cannot drift apart.
This module imports no ROS package: it runs wherever the package does.

In the YAML, a value `$name` stands for the launch argument `name`;
`{share_path: TEMPLATE}` for the absolute path of a file in the share directory and
`{share_file: TEMPLATE}` for the text of one, where `{name}` in TEMPLATE is replaced
by the argument's value; `{robot_file: FIELD}` for the text of the file that the
`robot` argument's description (robots.ROBOTS) names in FIELD (`urdf`);
`{robot_value: NAME}` for the value of a field or property of that description
(`control_rate_hz`, `sim.default_condition`). A node's `if:` is a bool argument,
`NAME == VALUE` for an argument with choices, or `robot.FIELD`: that description's
field is non-empty
(`robot.tasks`: the robot follows reference paths). Remappings
(`global_remappings:` for every node, `remappings:` for one) map a topic to
`$argument`; one that maps a topic to itself is left out.
"""

from dataclasses import dataclass, field
import datetime
import difflib
import functools
import inspect
import pathlib
import re

from meta_mpc_ros.paths import share_path
from meta_mpc_ros.ros.graph.arguments import (GraphError, launch_argument, LaunchArgument,
                                              parse_bool, parse_schedule)
import yaml

# Re-exported: nodes and the launcher read them from here.
__all__ = ('build_graph', 'declared_arguments', 'Graph', 'GraphError', 'LaunchArgument',
           'NodeEntry', 'parse_bool', 'parse_schedule', 'resolve_arguments')

PACKAGE = 'meta_mpc_ros'
_CONDITION = re.compile(r'^\s*(\w+)\s*==\s*(\S+)\s*$')
_ROBOT_FIELD = 'robot.'       # `if: robot.FIELD`: the robot description's FIELD is set
_NODE_KEYS = {'package', 'executable', 'name', 'parameters', 'parameter_files', 'remappings',
              'arguments', 'if', 'external', 'required'}


@dataclass(frozen=True)
class NodeEntry:
    """
    One node of the graph, resolved for a set of launch arguments.

    :param package: ROS package of the executable.
    :param executable: executable name (lib/<package>/<executable>).
    :param name: node name (remapped with __node).
    :param parameter_files: absolute paths of parameter YAML files, in order.
    :param parameters: parameter overrides name -> value (bool, int, float, str or a
        list of one of those); they take precedence over the files.
    :param remappings: ((from, to), ...) topic remappings.
    :param arguments: extra command-line arguments before --ros-args.
    :param condition: the condition that enables the node (a bool launch argument or
        'NAME == VALUE'), or None.
    :param external: True for nodes of other packages that only ros2 launch starts.
    :param required: the graph stops when this node exits (False: it may die alone,
        e.g. the adaptive dynamics node, whose loss the controller survives on theta*).
    :param path: explicit executable path (tests); None means the installed one.
    """

    package: str
    executable: str
    name: str
    parameter_files: tuple = ()
    parameters: dict = field(default_factory=dict)
    remappings: tuple = ()
    arguments: tuple = ()
    condition: str = None
    external: bool = False
    path: str = None
    required: bool = True


@dataclass(frozen=True)
class Graph:
    """
    The graph for one set of launch arguments.

    :param arguments: name -> typed value of every launch argument.
    :param nodes: enabled NodeEntry's, in start order.
    :param skipped: NodeEntry's whose condition is false.
    :param run_dir: directory of this run (logs and bag below it by default).
    :param log_dir: directory for node logs.
    :param bag_dir: rosbag2 directory that the recorder creates.
    """

    arguments: dict
    nodes: tuple
    skipped: tuple
    run_dir: pathlib.Path
    log_dir: pathlib.Path
    bag_dir: pathlib.Path

    @property
    def local_nodes(self):
        """Return the enabled nodes that the embedded launcher starts (not external)."""
        return tuple(node for node in self.nodes if not node.external)

    @property
    def external_nodes(self):
        """Return the enabled nodes of other packages, started only by ros2 launch."""
        return tuple(node for node in self.nodes if node.external)

    def node(self, name):
        """Return the enabled or skipped entry called `name`."""
        for entry in self.nodes + self.skipped:
            if entry.name == name:
                return entry
        raise KeyError(f'no node {name!r} in the graph; nodes are '
                       f'{[entry.name for entry in self.nodes + self.skipped]}')


def default_run_dir(root='runs', now=None):
    """
    Return a fresh run directory path root/<YYYYmmdd-HHMMSS> (not created).

    :param root: parent directory.
    :param now: datetime to use (default: now).
    :return: absolute pathlib.Path that does not exist yet.
    """
    stamp = (now or datetime.datetime.now()).strftime('%Y%m%d-%H%M%S')
    base = pathlib.Path(root).expanduser().resolve() / stamp
    candidate, suffix = base, 1
    while candidate.exists():
        candidate = base.with_name(f'{stamp}-{suffix}')
        suffix += 1
    return candidate


def _malformed_as_graph_error(function):
    """Report a value of the wrong type anywhere in the description as a GraphError."""
    @functools.wraps(function)
    def checked(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (AttributeError, IndexError, KeyError, TypeError) as error:
            path = signature.bind(*args, **kwargs).arguments.get('path')
            raise GraphError(f'{path or "config/graph.yaml"}: malformed graph description '
                             f'({type(error).__name__}: {error})') from None
    signature = inspect.signature(function)
    return checked


@_malformed_as_graph_error
def load_description(path=None):
    """
    Read and check the graph YAML.

    :param path: graph YAML; default config/graph.yaml in the share directory.
    :return: (arguments: tuple of LaunchArgument, global_parameters: dict, nodes: list of
        dict, global_remappings: dict), every `$reference` checked against the arguments.
    :raises GraphError: when the file does not follow the format.
    """
    path = pathlib.Path(path) if path is not None else share_path('config', 'graph.yaml')
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        reason = str(error).replace('\n', ' ')
        raise GraphError(f'{path}: cannot read the graph description ({reason})') from None
    if not isinstance(data, dict) or not isinstance(data.get('nodes'), list):
        raise GraphError(f'{path}: expected a mapping with arguments and a list of nodes')
    arguments = tuple(launch_argument(name, entry, path)
                      for name, entry in (data.get('arguments') or {}).items())
    names = {spec.name for spec in arguments}
    global_parameters = data.get('global_parameters') or {}
    _check_references(global_parameters, names, f'{path}: global_parameters')
    global_remappings = _remappings(data.get('global_remappings'), names,
                                    f'{path}: global_remappings')
    seen = set()
    for node in data['nodes']:
        if not isinstance(node, dict) or 'executable' not in node:
            raise GraphError(f'{path}: each node needs an executable, got {node!r}')
        where = f'{path}: node {node.get("name", node["executable"])!r}'
        unknown = set(node) - _NODE_KEYS
        if unknown:
            raise GraphError(f'{where}: unknown keys {sorted(unknown)}')
        name = node.get('name', node['executable'])
        if name in seen:
            raise GraphError(f'{where}: two nodes are called {name!r}')
        seen.add(name)
        _check_condition(node.get('if'), arguments, where)
        _remappings(node.get('remappings'), names, where)
        _check_references(node.get('parameters') or {}, names, where)
        _check_references(node.get('arguments') or [], names, where)
    return arguments, global_parameters, data['nodes'], global_remappings


def declared_arguments(path=None):
    """Return the launch arguments (tuple of LaunchArgument) of the graph YAML at `path`."""
    return load_description(path)[0]


def resolve_arguments(values=None, path=None):
    """
    Check launch argument values and fill in the defaults.

    :param values: mapping name -> value (strings as typed on a command line, or typed).
    :param path: graph YAML (default config/graph.yaml).
    :return: dict name -> typed value for every declared argument.
    :raises GraphError: for unknown names (with the closest match) or bad values.
    """
    specs = {spec.name: spec for spec in declared_arguments(path)}
    values = dict(values or {})
    for name in values:
        if name not in specs:
            close = difflib.get_close_matches(name, list(specs), n=1)
            hint = f'; did you mean {close[0]!r}?' if close else ''
            raise GraphError(f'unknown launch argument {name!r}{hint} '
                             f'(arguments: {", ".join(specs)})')
    return {name: spec.parse(values.get(name, spec.default)) for name, spec in specs.items()}


@_malformed_as_graph_error
def build_graph(values=None, run_dir=None, path=None):
    """
    Return the graph for a set of launch arguments.

    :param values: mapping argument name -> value; missing ones take their defaults.
    :param run_dir: run directory; default runs/<timestamp> under the working directory.
        log_dir and bag_dir default to <run_dir>/logs and <run_dir>/bag.
    :param path: graph YAML (default config/graph.yaml in the share directory).
    :return: Graph
    :raises GraphError: when an argument or the description is invalid.
    """
    _, global_parameters, nodes, global_remappings = load_description(path)
    arguments = resolve_arguments(values, path)
    run_dir = pathlib.Path(run_dir).resolve() if run_dir else default_run_dir()
    log_dir = pathlib.Path(arguments.get('log_dir') or run_dir / 'logs')
    bag_dir = pathlib.Path(arguments.get('bag_dir') or run_dir / 'bag')
    arguments = dict(arguments, log_dir=str(log_dir), bag_dir=str(bag_dir))
    enabled, skipped = [], []
    for node in nodes:
        active = condition_holds(node.get('if'), arguments)
        entry = _entry(node, global_parameters, global_remappings,
                       arguments if active else None)
        (enabled if active else skipped).append(entry)
    return Graph(arguments, tuple(enabled), tuple(skipped), run_dir, log_dir, bag_dir)


def _check_references(value, names, where):
    """Raise GraphError if `value` refers to an argument that is not declared."""
    if isinstance(value, dict) and set(value) & {'share_path', 'share_file'}:
        template = value.get('share_path', value.get('share_file'))
        for reference in re.findall(r'{(\w+)}', template):
            if reference not in names:
                raise GraphError(f'{where}: {template!r} refers to unknown {reference!r}')
    elif isinstance(value, dict):
        for item in value.values():
            _check_references(item, names, where)
    elif isinstance(value, list):
        for item in value:
            _check_references(item, names, where)
    elif isinstance(value, str) and value.startswith('$') and value[1:] not in names:
        raise GraphError(f'{where}: {value!r} refers to no launch argument')


def condition_holds(condition, arguments):
    """
    Return whether a node's `if:` holds for resolved launch arguments.

    :param condition: None (always), a bool argument's name, or 'NAME == VALUE'.
    :param arguments: name -> typed value.
    :return: bool
    """
    if condition is None:
        return True
    if str(condition).startswith(_ROBOT_FIELD):
        return bool(_robot_value(arguments['robot'], condition[len(_ROBOT_FIELD):]))
    match = _CONDITION.match(condition)
    if match:
        return arguments[match.group(1)] == match.group(2)
    return bool(arguments[condition])


def _check_condition(condition, arguments, where):
    """Raise GraphError unless `if:` names a bool argument or one of a choice's values."""
    if condition is None:
        return
    specs = {spec.name: spec for spec in arguments}
    if str(condition).startswith(_ROBOT_FIELD):
        from meta_mpc_ros.robots.description import RobotDescription
        if condition[len(_ROBOT_FIELD):] not in RobotDescription.__dataclass_fields__:
            raise GraphError(f'{where}: if: {condition!r} names no field of a robot '
                             'description')
        return
    match = _CONDITION.match(str(condition))
    if match:
        spec = specs.get(match.group(1))
        if spec is None or spec.choices is None or match.group(2) not in spec.choices:
            raise GraphError(f'{where}: if: {condition!r} needs an argument with choices and '
                             'one of them')
    elif condition not in specs or specs[condition].kind != 'bool':
        raise GraphError(f'{where}: if: {condition!r} is not a bool argument')


def _remappings(value, names, where):
    """Return a remappings mapping (topic -> topic or $argument), checked."""
    value = value or {}
    if not isinstance(value, dict) or not all(
            isinstance(item, str) for pair in value.items() for item in pair):
        raise GraphError(f'{where}: remappings must be a mapping from: to')
    _check_references(value, names, where)
    return value


def _resolve(value, arguments):
    """Replace `$argument`, share_path and share_file forms by their values."""
    if isinstance(value, dict) and 'share_path' in value:
        return str(share_path(value['share_path'].format(**arguments)))
    if isinstance(value, dict) and 'share_file' in value:
        target = share_path(value['share_file'].format(**arguments))
        if not target.is_file():
            raise GraphError(f'{target} does not exist (needed for {value["share_file"]!r})')
        return target.read_text()
    if isinstance(value, dict) and 'robot_file' in value:
        return _robot_file(arguments['robot'], value['robot_file'])
    if isinstance(value, dict) and 'robot_value' in value:
        return _robot_value(arguments['robot'], value['robot_value'])
    if isinstance(value, list):
        return [_resolve(item, arguments) for item in value]
    if isinstance(value, str) and value.startswith('$'):
        return arguments[value[1:]]
    return value


def _robot_value(robot, name):
    """Return a field or property of a robot's description (robots.ROBOTS), dotted."""
    from meta_mpc_ros.robots import robot_description
    value = robot_description(robot)
    for part in name.split('.'):
        if not hasattr(value, part):
            raise GraphError(f'the description of robot {robot!r} has no {name!r}')
        value = getattr(value, part)
    return value


def _robot_file(robot, field_name):
    """Return the text of the file a robot's description names in one field."""
    from meta_mpc_ros.robots import robot_description
    relative = getattr(robot_description(robot), field_name)
    if not relative:
        raise GraphError(f'robot {robot!r} has no {field_name} in its description')
    target = pathlib.Path(relative)
    target = target if target.is_absolute() else share_path(relative)
    if not target.is_file():
        raise GraphError(f'{target} does not exist (the {field_name} of {robot!r})')
    return target.read_text()


def _entry(node, global_parameters, global_remappings, arguments):
    """Return the NodeEntry of one node; `arguments` None leaves values unresolved."""
    package = node.get('package', PACKAGE)
    executable = node['executable']
    if 'parameter_files' in node:
        files = [str(share_path(item)) for item in node['parameter_files']]
    else:
        files = [str(share_path('config', executable + '.yaml'))] if package == PACKAGE else []
    parameters = dict(global_parameters, **(node.get('parameters') or {}))
    remappings = dict(global_remappings, **(node.get('remappings') or {}))
    extra = node.get('arguments') or []
    if arguments is not None:
        parameters = {key: _resolve(value, arguments) for key, value in parameters.items()}
        remappings = {key: _resolve(value, arguments) for key, value in remappings.items()}
        extra = [str(_resolve(item, arguments)) for item in extra]
    # A topic mapped to itself (the default of a topic argument) needs no rule.
    remappings = tuple((source, target) for source, target in remappings.items()
                       if source != target)
    return NodeEntry(package=package, executable=executable,
                     name=node.get('name', executable), parameter_files=tuple(files),
                     parameters=parameters, remappings=remappings,
                     arguments=tuple(extra), condition=node.get('if'),
                     external=bool(node.get('external', False)),
                     required=bool(node.get('required', True)))


def check_packages(packages, hint):
    """
    Refuse to start anything when one of the ROS packages a launch needs is missing.

    :param packages: package names (ament index) the launch starts nodes of.
    :param hint: what to do about it, appended to the one-line error.
    :raises GraphError: naming every missing package at once, not only the first.
    """
    from ament_index_python.packages import get_package_share_directory, PackageNotFoundError
    missing = []
    for package in dict.fromkeys(packages):
        try:
            get_package_share_directory(package)
        except PackageNotFoundError:
            missing.append(package)
        except EnvironmentError as error:    # AMENT_PREFIX_PATH unset: no ROS sourced
            raise GraphError(f'cannot look for package(s) {", ".join(packages)}: {error} '
                             f'(source a ROS 2 setup file); {hint}') from None
    if missing:
        raise GraphError(f'package(s) {", ".join(missing)} not found; {hint}')


def gazebo_model(robot):
    """
    Return the URDF path of a robot that Gazebo can simulate.

    A robot is ready for Gazebo when the URDF its description names carries a
    `<gazebo>` block with gz-sim plugins (its controllers, joint state and odometry
    publishers); rviz and MuJoCo ignore that block.

    :raises GraphError: in one line, for a robot without such a URDF.
    """
    import xml.etree.ElementTree as ElementTree
    from meta_mpc_ros.robots import robot_description
    try:
        relative = robot_description(robot).urdf
    except ValueError as error:
        raise GraphError(str(error)) from None
    path = pathlib.Path(relative) if relative else None
    path = share_path(relative) if path and not path.is_absolute() else path
    try:
        root = ElementTree.parse(path).getroot() if path else None
    except (OSError, ElementTree.ParseError) as error:
        raise GraphError(f'robot {robot!r}: cannot read its URDF {path} ({error})') from None
    plugins = [] if root is None else [plugin for block in root.iter('gazebo')
                                       for plugin in block.iter('plugin')]
    if not plugins:
        raise GraphError(f'robot {robot!r} has no Gazebo model (its description names no '
                         'URDF with a <gazebo> block of gz-sim plugins); run it in MuJoCo '
                         'with bringup.launch.py sim:=mujoco')
    return path
