"""
launch/bringup.launch.py: structure, and what it builds from the graph.

launch and launch_ros are not installed here, so the file is checked two ways: its
syntax and imports with ast, and its logic by running it against small stand-ins for
the few launch classes it uses, which record their arguments.
"""

import ast
import importlib.util
import pathlib
import sys
import types

from meta_mpc_ros.ros import graph
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAUNCH_FILE = ROOT / 'launch' / 'bringup.launch.py'


def test_syntax_and_imports():
    tree = ast.parse(LAUNCH_FILE.read_text(), feature_version=(3, 10))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module)
    # ROS imports are launch and launch_ros only; the graph comes from the package.
    assert {m.split('.')[0] for m in modules} <= {'ament_index_python', 'launch', 'launch_ros',
                                                  'meta_mpc_ros', 'typing'}
    assert {'launch.actions', 'launch_ros.actions', 'meta_mpc_ros.ros'} <= modules
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert 'generate_launch_description' in functions


class Recorder:
    """Stand-in for a launch class: keeps its positional and keyword arguments."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class LaunchConfiguration(Recorder):
    """Stand-in that performs to the value in the fake context."""

    def perform(self, context):
        return context[self.args[0]]


class FindPackageShare(Recorder):
    """Stand-in that performs to /opt/ros/share/<package>."""

    def perform(self, context):
        return f'/opt/ros/share/{self.args[0]}'


def load_launch_file(monkeypatch, path):
    """Import a launch file with stand-ins for launch and launch_ros."""
    classes = {
        'launch': {'LaunchDescription': Recorder},
        'launch.actions': {name: type(name, (Recorder,), {}) for name in (
            'DeclareLaunchArgument', 'IncludeLaunchDescription', 'OpaqueFunction',
            'SetEnvironmentVariable')},
        'launch.launch_description_sources': {
            'PythonLaunchDescriptionSource': type('PythonLaunchDescriptionSource',
                                                  (Recorder,), {})},
        'launch.substitutions': {'LaunchConfiguration': LaunchConfiguration},
        'launch_ros': {}, 'launch_ros.actions': {'Node': type('Node', (Recorder,), {})},
        'launch_ros.parameter_descriptions': {
            'ParameterValue': type('ParameterValue', (Recorder,), {})},
        'launch_ros.substitutions': {'FindPackageShare': FindPackageShare},
    }
    for name, members in classes.items():
        module = types.ModuleType(name)
        module.__dict__.update(members)
        monkeypatch.setitem(sys.modules, name, module)
    spec = importlib.util.spec_from_file_location(path.stem.replace('.', '_'), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bringup(monkeypatch):
    """Import launch/bringup.launch.py with stand-ins for launch and launch_ros."""
    return load_launch_file(monkeypatch, LAUNCH_FILE)


def test_declares_every_graph_argument_with_its_default(bringup):
    description = bringup.generate_launch_description()
    actions = description.args[0]
    declared = [action for action in actions if type(action).__name__ ==
                'DeclareLaunchArgument']
    specs = graph.declared_arguments()
    assert [action.args[0] for action in declared] == [spec.name for spec in specs]
    for action, spec in zip(declared, specs):
        assert action.kwargs['default_value'] == spec.default_text
        assert action.kwargs['description'] == spec.description
    assert type(actions[-1]).__name__ == 'OpaqueFunction'


@pytest.fixture
def ament_index(tmp_path, monkeypatch):
    """
    Return a function that registers packages in a real ament index under tmp_path.

    ament_index_python (the real one) finds a package by a marker file in
    share/ament_index/resource_index/packages of a prefix on AMENT_PREFIX_PATH.
    """
    prefix = tmp_path / 'ament_prefix'
    markers = prefix / 'share' / 'ament_index' / 'resource_index' / 'packages'
    markers.mkdir(parents=True)
    monkeypatch.setenv('AMENT_PREFIX_PATH', str(prefix))

    def register(*packages):
        for package in packages:
            (markers / package).touch()
            (prefix / 'share' / package).mkdir(exist_ok=True)
    return register


def test_opaque_function_starts_the_graph_nodes(bringup, ament_index, tmp_path):
    ament_index('robot_state_publisher', 'rviz2')
    opaque = bringup.generate_launch_description().args[0][-1]
    context = {spec.name: spec.default_text for spec in graph.declared_arguments()}
    context.update(adapter='rebal', rviz='true', bag_dir=str(tmp_path / 'bag'))
    actions = opaque.kwargs['function'](context)
    nodes = [action.kwargs for action in actions]
    assert [node['name'] for node in nodes] == [
        'sim_node', 'state_estimator_node', 'adaptive_dynamics_node', 'mppi_controller_node',
        'reference_node', 'bag_recorder', 'robot_state_publisher', 'rviz2']
    assert all(node['output'] == 'screen' for node in nodes)
    # Every required node ends the launch when it exits; the adaptive dynamics node may
    # die alone (the controller falls back to theta*), external nodes too.
    stops = [node['on_exit'] is bringup._required_exit for node in nodes]
    assert stops == [True, True, False, True, True, True, False, False]
    assert all(node['on_exit'] is None for node, stop in zip(nodes, stops) if not stop)
    adaptive = nodes[2]
    assert adaptive['package'] == 'meta_mpc_ros'
    config, overrides = adaptive['parameters']
    assert config == str(ROOT / 'config' / 'adaptive_dynamics_node.yaml')
    # Strings go through ParameterValue(value_type=str) so that launch_ros keeps them
    # strings; bools are passed as they are.
    assert overrides['adapter'].args == ('rebal',)
    assert overrides['adapter'].kwargs == {'value_type': str}
    assert overrides['use_sim_time'] is True
    publisher = nodes[6]
    assert publisher['package'] == 'robot_state_publisher'
    description = publisher['parameters'][0]['robot_description'].args[0]
    assert description == (ROOT / 'urdf' / 'millirobot.urdf').read_text()
    assert nodes[7]['arguments'] == ['-d', str(ROOT / 'rviz' / 'meta_mpc.rviz')]


def test_sim_none_and_topic_arguments_reach_the_nodes(bringup, tmp_path):
    # ros2 launch meta_mpc_ros bringup.launch.py sim:=none odom_topic:=/robot/odom ...
    opaque = bringup.generate_launch_description().args[0][-1]
    context = {spec.name: spec.default_text for spec in graph.declared_arguments()}
    context.update(sim='none', odom_topic='/robot/odom', joint_states_topic='/robot/joints',
                   cmd_topic='/robot/cmd', bag_dir=str(tmp_path / 'bag'))
    nodes = [action.kwargs for action in opaque.kwargs['function'](context)]
    assert [node['name'] for node in nodes] == [
        'state_estimator_node', 'adaptive_dynamics_node', 'mppi_controller_node',
        'reference_node', 'bag_recorder']
    for node in nodes:
        assert node['remappings'] == [('/odom', '/robot/odom'),
                                      ('/joint_states', '/robot/joints'),
                                      ('/cmd', '/robot/cmd')]
    declared = {action.args[0]: action.kwargs for action in
                bringup.generate_launch_description().args[0][:-1]}
    assert declared['sim']['choices'] == ['mujoco', 'none']


def test_bad_argument_fails_with_the_graph_reason(bringup):
    opaque = bringup.generate_launch_description().args[0][-1]
    context = {spec.name: spec.default_text for spec in graph.declared_arguments()}
    context['record'] = 'maybe'
    with pytest.raises(graph.GraphError, match='record: expected true or false'):
        opaque.kwargs['function'](context)


def test_missing_external_packages_fail_before_any_node_starts(bringup, ament_index):
    # Only robot_state_publisher is installed: with rviz:=true the setup must refuse
    # (returning no actions at all) instead of starting our nodes and then failing on
    # rviz2, which left them running as orphans.
    ament_index('robot_state_publisher')
    opaque = bringup.generate_launch_description().args[0][-1]
    context = {spec.name: spec.default_text for spec in graph.declared_arguments()}
    context['rviz'] = 'true'
    with pytest.raises(graph.GraphError, match='package.s. rviz2 not found'):
        opaque.kwargs['function'](context)
    context['rviz'] = 'false'
    assert len(opaque.kwargs['function'](context)) == 6


class Context:
    """Stand-in for launch's LaunchContext: only whether the launch is shutting down."""

    def __init__(self, is_shutdown):
        self.is_shutdown = is_shutdown


def test_a_required_node_exiting_while_running_fails_the_launch(bringup):
    event = types.SimpleNamespace(action=types.SimpleNamespace(name='sim_node-1'),
                                  returncode=-11)
    # launch turns an exception in an event handler into shutdown of every process and
    # exit status 1; during a requested shutdown, exits are expected and pass.
    with pytest.raises(RuntimeError, match='sim_node-1 exited with code -11'):
        bringup._required_exit(event, Context(is_shutdown=False))
    assert bringup._required_exit(event, Context(is_shutdown=True)) is None


def test_rviz_config_shows_the_graph_topics_in_odom():
    config = yaml.safe_load((ROOT / 'rviz' / 'meta_mpc.rviz').read_text())
    manager = config['Visualization Manager']
    assert manager['Global Options']['Fixed Frame'] == 'odom'
    displays = {(d['Class'], (d.get('Topic') or d.get('Description Topic') or {}).get('Value'))
                for d in manager['Displays']}
    assert displays == {
        ('rviz_default_plugins/Grid', None), ('rviz_default_plugins/TF', None),
        ('rviz_default_plugins/RobotModel', '/robot_description'),
        ('rviz_default_plugins/Odometry', '/odom'),
        ('rviz_default_plugins/Path', '/meta_mpc/reference'),
        ('rviz_default_plugins/Path', '/meta_mpc/plan'),
        ('rviz_default_plugins/MarkerArray', '/meta_mpc/rollouts')}
    # The reference is latched by reference_node: rviz must ask for transient local.
    reference = next(d for d in manager['Displays'] if d.get('Name') == 'Reference')
    assert reference['Topic']['Durability Policy'] == 'Transient Local'


GAZEBO_FILE = ROOT / 'launch' / 'gazebo.launch.py'


def test_gazebo_launch_file_syntax_and_imports():
    tree = ast.parse(GAZEBO_FILE.read_text(), feature_version=(3, 10))
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    # Only launch, launch_ros, ros_gz and our package: nothing a ROS install lacks.
    assert {m.split('.')[0] for m in modules} <= {'launch', 'launch_ros', 'meta_mpc_ros',
                                                  'ros_gz_sim', 'ros_gz_bridge'}
    compile(GAZEBO_FILE.read_text(), str(GAZEBO_FILE), 'exec')


def gazebo_context(**values):
    """Return a launch context of gazebo.launch.py: every argument at its default."""
    context = {spec.name: spec.default_text for spec in graph.declared_arguments()}
    context.pop('sim')
    context['world'] = 'carpet'
    context.update(values)
    return context


def test_gazebo_launch_declares_bringup_arguments_for_show_args(monkeypatch):
    # ros2 launch --show-args lists the arguments declared at the top of the launch
    # description, not those of a file included inside an OpaqueFunction: every
    # argument of bringup but sim (Gazebo is the robot) must be declared here.
    gazebo = load_launch_file(monkeypatch, GAZEBO_FILE)
    *declared, opaque = gazebo.generate_launch_description().args[0]
    assert type(opaque).__name__ == 'OpaqueFunction'
    names = [action.args[0] for action in declared]
    assert names == ['world'] + [spec.name for spec in graph.declared_arguments()
                                 if spec.name != 'sim']
    assert {'adapter', 'robot', 'headless', 'task'} <= set(names)
    adapter = declared[names.index('adapter')].kwargs
    spec = next(spec for spec in graph.declared_arguments() if spec.name == 'adapter')
    assert adapter['default_value'] == spec.default_text
    assert adapter['choices'] == list(spec.choices)


@pytest.mark.parametrize('headless', ['true', 'false'])
def test_gazebo_launch_starts_gazebo_bridge_splitter_and_the_graph_without_sim(
        monkeypatch, headless, tmp_path, ament_index):
    ament_index('ros_gz_sim', 'ros_gz_bridge')
    gazebo = load_launch_file(monkeypatch, GAZEBO_FILE)
    *declared, opaque = gazebo.generate_launch_description().args[0]
    worlds = declared[0].kwargs['choices']
    assert worlds == ['carpet', 'styrofoam', 'turf', 'slippery_slope']
    assert all((ROOT / 'worlds' / f'{world}.sdf').is_file() for world in worlds)
    context = gazebo_context(world='turf', headless=headless, adapter='grbal',
                             bag_dir=str(tmp_path / 'bag'))
    simulator, spawner, bridge, splitter, bringup = opaque.kwargs['function'](context)
    # gz-sim runs (-r) the chosen world, server only (-s) when headless.
    assert simulator.args[0].args[0] == '/opt/ros/share/ros_gz_sim/launch/gz_sim.launch.py'
    world = ROOT / 'worlds' / 'turf.sdf'
    assert dict(simulator.kwargs['launch_arguments']) == {
        'gz_args': ('-s ' if headless == 'true' else '') + f'-r {world}'}
    # The robot is spawned from the URDF into the world the SDF names.
    arguments = spawner.kwargs['arguments']
    assert (spawner.kwargs['package'], spawner.kwargs['executable']) == ('ros_gz_sim', 'create')
    assert arguments[arguments.index('-file') + 1] == str(ROOT / 'urdf' / 'millirobot.urdf')
    world_name = arguments[arguments.index('-world') + 1]
    assert f'<world name="{world_name}">' in world.read_text()
    assert bridge.kwargs['executable'] == 'parameter_bridge'
    config, sim_time = bridge.kwargs['parameters']
    assert config == {'config_file': str(ROOT / 'config' / 'gazebo_bridge.yaml')}
    assert sim_time == {'use_sim_time': True}
    assert (splitter.kwargs['package'], splitter.kwargs['executable']) == (
        'meta_mpc_ros', 'cmd_split_node')
    assert splitter.kwargs['parameters'][0] == str(ROOT / 'config' / 'cmd_split_node.yaml')
    # The graph is bringup.launch.py with sim:=none, which graph.yaml accepts.
    assert bringup.args[0].args[0] == str(ROOT / 'launch' / 'bringup.launch.py')
    passed = dict(bringup.kwargs['launch_arguments'])
    expected = {name: value for name, value in context.items() if name != 'world'}
    assert passed == dict(expected, sim='none')
    assert passed['adapter'] == 'grbal'
    assert 'sim_node' not in [entry.name for entry in graph.build_graph(
        {'sim': 'none'}, run_dir=tmp_path).nodes]


def test_gazebo_launch_names_every_missing_package_before_starting(monkeypatch, ament_index,
                                                                   tmp_path):
    # Without ros_gz, launch's own error names only the first package it cannot find;
    # ours names both (and rviz's with rviz:=true), in one line, and starts nothing.
    ament_index('ros_gz_bridge')
    gazebo = load_launch_file(monkeypatch, GAZEBO_FILE)
    opaque = gazebo.generate_launch_description().args[0][-1]
    context = gazebo_context(rviz='true', bag_dir=str(tmp_path / 'bag'))
    with pytest.raises(graph.GraphError, match=r'^package\(s\) ros_gz_sim, '
                       r'robot_state_publisher, rviz2 not found; install ros-\$ROS_DISTRO'):
        opaque.kwargs['function'](context)


def test_gazebo_launch_refuses_a_robot_without_a_gazebo_model(
        monkeypatch, ament_index, tmp_path):
    ament_index('ros_gz_sim', 'ros_gz_bridge')
    gazebo = load_launch_file(monkeypatch, GAZEBO_FILE)
    opaque = gazebo.generate_launch_description().args[0][-1]
    context = gazebo_context(robot='diff_drive', bag_dir=str(tmp_path / 'bag'))
    with pytest.raises(graph.GraphError, match="robot 'diff_drive' has no Gazebo model"):
        opaque.kwargs['function'](context)
