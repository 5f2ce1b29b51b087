"""The graph description: nodes, overrides, conditions, validation, package contract."""

import ast
import importlib
import pathlib

from meta_mpc_ros.core.reference import TASKS
from meta_mpc_ros.ros import graph
from meta_mpc_ros.ros.parameters import ParameterSpec
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SIX = ['sim_node', 'state_estimator_node', 'adaptive_dynamics_node', 'mppi_controller_node',
       'reference_node', 'bag_recorder']


def names(entries):
    """Return the node names of entries."""
    return [entry.name for entry in entries]


def test_defaults_give_the_six_nodes_in_start_order(tmp_path):
    built = graph.build_graph(run_dir=tmp_path)
    assert names(built.local_nodes) == SIX
    assert built.external_nodes == ()
    assert names(built.skipped) == ['robot_state_publisher', 'rviz2']
    assert built.arguments['adapter'] == 'grbal' and built.arguments['task'] == 'figure8'
    assert built.arguments['record'] is True and built.arguments['rviz'] is False
    assert built.log_dir == tmp_path / 'logs' and built.bag_dir == tmp_path / 'bag'
    for entry in built.local_nodes:
        assert entry.package == 'meta_mpc_ros' and entry.executable == entry.name
        assert entry.parameter_files == (str(ROOT / 'config' / f'{entry.executable}.yaml'),)
        assert entry.parameters['use_sim_time'] is True
    assert built.node('adaptive_dynamics_node').parameters['checkpoint'] == ''
    assert built.node('sim_node').parameters['headless'] is True
    assert built.node('bag_recorder').parameters['output_dir'] == str(tmp_path / 'bag')


def test_record_false_leaves_out_the_recorder_and_rviz_adds_external_nodes(tmp_path):
    built = graph.build_graph({'record': 'false', 'rviz': 'True'}, run_dir=tmp_path)
    assert names(built.local_nodes) == SIX[:-1]
    assert names(built.skipped) == ['bag_recorder']
    assert names(built.external_nodes) == ['robot_state_publisher', 'rviz2']
    publisher = built.node('robot_state_publisher')
    assert publisher.package == 'robot_state_publisher' and publisher.parameter_files == ()
    urdf = (ROOT / 'urdf' / 'millirobot.urdf').read_text()
    assert publisher.parameters['robot_description'] == urdf
    assert built.node('rviz2').arguments == ('-d', str(ROOT / 'rviz' / 'meta_mpc.rviz'))


def test_overrides_land_in_the_right_nodes(tmp_path):
    checkpoint = tmp_path / 'model.pt'
    checkpoint.write_bytes(b'')
    values = {'adapter': 'mb', 'task': 'zigzag', 'checkpoint': str(checkpoint),
              'terrain_schedule': '20.0:slippery_slope,payload;40.0:carpet',
              'use_sim_time': 'false', 'headless': '0', 'bag_dir': str(tmp_path / 'b')}
    built = graph.build_graph(values, run_dir=tmp_path)
    by_name = {entry.name: entry.parameters for entry in built.nodes}
    assert by_name['adaptive_dynamics_node']['adapter'] == 'mb'
    # The controller gets the adapter too: it picks the same shipped checkpoint (theta*).
    assert [name for name, p in by_name.items() if p.get('adapter') == 'mb'] == [
        'adaptive_dynamics_node', 'mppi_controller_node']
    assert by_name['reference_node']['task'] == 'zigzag'
    assert by_name['sim_node']['schedule'] == values['terrain_schedule']
    assert by_name['sim_node']['headless'] is False
    assert [name for name, p in by_name.items() if p.get('checkpoint') == str(checkpoint)] == [
        'adaptive_dynamics_node', 'mppi_controller_node']
    assert all(p['use_sim_time'] is False for p in by_name.values())
    assert by_name['bag_recorder']['output_dir'] == str(tmp_path / 'b')


@pytest.mark.parametrize('values, reason', [
    ({'adapter': 'maml'}, "adapter: 'maml' is not one of mb, de, grbal, rebal"),
    ({'task': 'circle'}, "task: 'circle' is not one of straight, left_turn, zigzag, figure8"),
    ({'record': 'maybe'}, "record: expected true or false, got 'maybe'"),
    ({'adaptr': 'mb'}, "unknown launch argument 'adaptr'; did you mean 'adapter'?"),
    ({'checkpoint': '/no/such/model.pt'}, "checkpoint: no such file '/no/such/model.pt'"),
    # ~user of a user that does not exist (found by the property test).
    ({'checkpoint': '~0'}, "checkpoint: '~0': Could not determine home directory"),
    ({'bag_dir': '~no_such_user_here/bag'}, "bag_dir: '~no_such_user_here/bag'"),
    ({'terrain_schedule': '20:carpet;10:turf'}, 'times must increase'),
    ({'terrain_schedule': 'carpet'}, "'carpet' is not TIME:SPEC"),
    ({'robot': '../etc'}, "robot: '../etc' is not one of millirobot"),   # robots.ROBOTS
    ({'sim': 'gazebo'}, "sim: 'gazebo' is not one of mujoco, none"),
    ({'odom_topic': 'robot odom'}, "odom_topic: 'robot odom' is not a topic name"),
    ({'cmd_topic': '/robot//cmd'}, "cmd_topic: '/robot//cmd' is not a topic name"),
])
def test_bad_arguments_are_rejected_with_the_reason(values, reason, tmp_path):
    with pytest.raises(graph.GraphError) as error:
        graph.build_graph(values, run_dir=tmp_path)
    assert reason in str(error.value)


@pytest.mark.parametrize('text, expected', [
    ('true', True), ('True', True), ('1', True), (True, True),
    ('false', False), ('FALSE', False), ('0', False), (False, False)])
def test_bools_read_as_ros_launch_reads_them(text, expected):
    assert graph.parse_bool(text) is expected


def test_schedule_syntax():
    assert graph.parse_schedule('') == []
    assert graph.parse_schedule('0:carpet; 20.5:slope_deg=8,payload_kg=0.02') == [
        (0.0, 'carpet'), (20.5, 'slope_deg=8,payload_kg=0.02')]
    for bad in ('-1:carpet', 'nan:carpet', '5:', 'x:carpet'):
        with pytest.raises(graph.GraphError):
            graph.parse_schedule(bad)


def test_run_dir_is_fresh(tmp_path):
    first = graph.default_run_dir(tmp_path)
    first.mkdir()
    second = graph.default_run_dir(tmp_path, now=None)
    assert second != first and not second.exists()


@pytest.mark.parametrize('change, reason', [
    (lambda d: d['nodes'][0]['parameters'].update(robot='$robots'), 'refers to no launch'),
    (lambda d: d['nodes'][1].update(name='sim_node'), "two nodes are called 'sim_node'"),
    (lambda d: d['nodes'][1].update(params={}), 'unknown keys'),
    (lambda d: d['nodes'][5].update({'if': 'task'}), 'is not a bool argument'),
    (lambda d: d['nodes'][0].update({'if': 'sim == gazebo'}), 'needs an argument with choices'),
    (lambda d: d['nodes'][0].update({'if': 'record == true'}), 'needs an argument with choices'),
    (lambda d: d['global_remappings'].update({'/odom': '$odom'}), 'refers to no launch'),
    (lambda d: d['nodes'][1].update(remappings=['/odom']), 'must be a mapping from: to'),
    (lambda d: d['nodes'][6]['parameters'].update(robot_description={
        'share_file': 'urdf/{robt}.urdf'}), "refers to unknown 'robt'"),
    (lambda d: d['arguments']['task'].pop('description'), 'needs a default and a description'),
    (lambda d: d['arguments']['task'].update(default='circle'), "'circle' is not one of"),
])
def test_broken_description_files_are_rejected(change, reason, tmp_path):
    data = yaml.safe_load((ROOT / 'config' / 'graph.yaml').read_text())
    change(data)
    path = tmp_path / 'graph.yaml'
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(graph.GraphError, match=reason):
        graph.build_graph(run_dir=tmp_path, path=path)


def test_sim_none_leaves_out_only_the_simulator(tmp_path):
    built = graph.build_graph({'sim': 'none', 'rviz': 'true'}, run_dir=tmp_path)
    assert names(built.local_nodes) == SIX[1:]
    assert names(built.skipped) == ['sim_node']
    assert built.node('sim_node').condition == 'sim == mujoco'
    assert names(built.external_nodes) == ['robot_state_publisher', 'rviz2']
    assert graph.build_graph({'sim': 'mujoco'}, run_dir=tmp_path).node('sim_node') in \
        graph.build_graph(run_dir=tmp_path).nodes


def test_topic_arguments_remap_the_robot_topics_in_every_node(tmp_path):
    # The defaults map each topic to itself: no remapping rule at all.
    assert all(entry.remappings == () for entry in graph.build_graph(run_dir=tmp_path).nodes)
    built = graph.build_graph({'odom_topic': '/robot/odom', 'cmd_topic': 'robot/cmd',
                               'rviz': 'true'}, run_dir=tmp_path)
    for entry in built.nodes:
        # rviz and robot_state_publisher too: rviz's odometry display follows the robot.
        assert entry.remappings == (('/odom', '/robot/odom'), ('/cmd', 'robot/cmd')), \
            entry.name


def test_task_choices_are_the_core_tasks():
    specs = {spec.name: spec for spec in graph.declared_arguments()}
    assert specs['task'].choices == TASKS


def test_adapter_choices_are_the_registered_adapters():
    from meta_mpc_ros.core.adapters import ADAPTERS
    specs = {spec.name: spec for spec in graph.declared_arguments()}
    assert set(specs['adapter'].choices) == set(ADAPTERS)


def registered_nodes():
    """Return setup.py's NODES mapping (executable -> module), read without running it."""
    tree = ast.parse((ROOT / 'setup.py').read_text())
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and statement.targets[0].id == 'NODES':
            return ast.literal_eval(statement.value)
    raise AssertionError('setup.py has no NODES')


def declared_specs(module_name, robot=None):
    """
    Return name -> ParameterSpec of every spec a node module lists at module level.

    With a robot, the specs its `parameters(robot)` gives take precedence (the
    defaults and checks that the robot's description and config make).
    """
    module = importlib.import_module(module_name)
    specs = {}
    for value in vars(module).values():
        if isinstance(value, tuple) and value and all(
                isinstance(item, ParameterSpec) for item in value):
            specs.update({spec.name: spec for spec in value})
    if robot is not None and callable(getattr(module, 'parameters', None)):
        specs.update({spec.name: spec for spec in module.parameters(robot)})
    return specs


def test_every_node_is_registered_configured_and_takes_its_overrides(tmp_path):
    # The graph is the contract between the launch files and the nodes: each
    # executable is a setup.py entry point with an installed wrapper, its config file
    # is in ROS params format and only sets declared parameters, and every override
    # the graph passes is declared and valid for every choice of each argument.
    nodes = registered_nodes()
    specs = {spec.name: spec for spec in graph.declared_arguments()}
    variants = [{}, {'record': 'true'}] + [
        {name: choice} for name, spec in specs.items() for choice in spec.choices or ()]
    for values in variants:
        for entry in graph.build_graph(values, run_dir=tmp_path).local_nodes:
            assert entry.executable in nodes, entry.executable
            assert (ROOT / 'scripts' / 'lib' / entry.executable).is_file()
            declared = declared_specs(nodes[entry.executable],
                                      entry.parameters.get('robot'))
            for name, value in entry.parameters.items():
                if name == 'use_sim_time':
                    continue
                assert name in declared, (entry.name, name)
                assert declared[name].validate(value) is None, (entry.name, name, value)
            for path in entry.parameter_files:
                content = yaml.safe_load(pathlib.Path(path).read_text())
                assert list(content) == ['/**'], path
                unknown = set(content['/**']['ros__parameters']) - set(declared)
                assert not unknown, (path, unknown)


def test_missing_packages_are_named_together_in_one_line(monkeypatch, tmp_path):
    index = tmp_path / 'share' / 'ament_index' / 'resource_index' / 'packages'
    index.mkdir(parents=True)
    (index / 'rclpy').write_text('')
    (tmp_path / 'share' / 'rclpy').mkdir()
    monkeypatch.setenv('AMENT_PREFIX_PATH', str(tmp_path))
    with pytest.raises(graph.GraphError) as missing:
        graph.check_packages(['rclpy', 'no_such_pkg_a', 'no_such_pkg_b'], 'install them')
    assert str(missing.value) == \
        'package(s) no_such_pkg_a, no_such_pkg_b not found; install them'
    monkeypatch.delenv('AMENT_PREFIX_PATH', raising=False)
    with pytest.raises(graph.GraphError, match=r'source a ROS 2 setup file\); install them'):
        graph.check_packages(['rviz2'], 'install them')
