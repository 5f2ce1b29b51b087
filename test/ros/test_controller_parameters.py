"""The controller node's parameters: the cost as plugins, and set requests as a whole."""

from meta_mpc_ros.core.costs import build_cost, CostContext
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.ros import conversions
from meta_mpc_ros.ros.mppi_controller_node import MPPIControllerNode
import pytest
import rclpy
from rclpy.parameter import Parameter
import torch


@pytest.fixture
def node_factory(ros_env):
    """Start MPPIControllerNode in this process (its own DDS domain) with --ros-args."""
    nodes = []
    threads = torch.get_num_threads()           # the node sets its own; restored below

    def start(*overrides):
        arguments = ['--ros-args'] + [item for name in overrides for item in ('-p', name)]
        rclpy.init(args=arguments, domain_id=int(ros_env['ROS_DOMAIN_ID']))
        nodes.append(MPPIControllerNode())
        return nodes[-1]

    yield start
    for node in nodes:
        node.destroy_node()
    if rclpy.ok():
        rclpy.shutdown()
    torch.set_num_threads(threads)


def test_cost_parameters_default_to_the_robot_yaml(node_factory):
    node = node_factory()
    robot_cost = load_robot_config('millirobot').cost
    assert node.get_parameter('cost.terms').value == [term['name'] for term in robot_cost]
    for term in robot_cost:
        for key, value in term.items():
            if key != 'name':
                assert node.get_parameter(f'cost.{term["name"]}.{key}').value == value
    # The node plans with the cost in-process runs build from the same YAML.
    states = torch.rand(5, 4, 19, generator=torch.Generator().manual_seed(0))
    actions = torch.rand(5, 3, 2, generator=torch.Generator().manual_seed(1))
    path = torch.stack([torch.linspace(0, 1, 10), torch.zeros(10)], dim=1)
    context = CostContext(path_points=path, path_headings=torch.zeros(10),
                          path_arclength=torch.linspace(0, 1, 10),
                          previous_action=torch.zeros(2))
    expected = build_cost(robot_cost, node.checkpoint.state_spec)(states, actions, context)
    assert torch.equal(node.cost(states, actions, context), expected)


def test_a_chosen_term_declares_its_own_settings(node_factory):
    node = node_factory("cost.terms:=['path_tracking', 'control_effort']",
                        'cost.path_tracking.heading:=0.3')
    assert [term.name for term in node.cost.terms] == ['path_tracking', 'control_effort']
    assert node.cost.term('path_tracking').heading == 0.3
    assert not node.has_parameter('cost.action_rate.weight')


def test_weight_changes_go_through_the_cost(node_factory):
    node = node_factory()
    result = node.set_parameters_atomically([Parameter('cost.control_effort.weight',
                                                       value=0.25)])
    assert result.successful, result.reason
    assert node.cost.term('control_effort').weight == 0.25


def test_a_rejected_request_applies_nothing(node_factory):
    node = node_factory()
    planner = node.controller.planner
    result = node.set_parameters_atomically([
        Parameter('cost.path_tracking.weight', value=3.0),
        Parameter('planner.mppi.temperature', value=0.5),
        Parameter('planner.mppi.noise_sigma', value=[1.0, 1.0, 1.0])])   # the robot has 2
    assert not result.successful and 'noise_sigma needs 1 or 2 entries' in result.reason
    assert node.cost.term('path_tracking').weight == 1.0
    assert node.get_parameter('planner.mppi.temperature').value == 0.05
    assert planner.settings.temperature == 0.05


def test_the_planners_dynamic_settings_reach_it(node_factory):
    node = node_factory()
    planner = node.controller.planner
    result = node.set_parameters_atomically([
        Parameter('planner.mppi.temperature', value=0.5),
        Parameter('planner.mppi.noise_sigma', value=[1.0, 2.0])])
    assert result.successful, result.reason
    assert planner.settings.temperature == 0.5
    assert torch.equal(planner.sigma, torch.tensor([1.0, 2.0]))
    result = node.set_parameters_atomically([Parameter('planner.mppi.warm_start',
                                                       value=False)])
    assert not result.successful and 'read-only' in result.reason


def test_a_changed_stop_reason_is_reported(node_factory, capfd):
    # A missing path after a stale state was still logged as the stale state.
    node = node_factory()
    node.watchdog()                              # no state yet: nothing to report
    node.last_state_wall = 0.0                   # monotonic time long ago: stale
    node.watchdog()
    names = node.checkpoint.state_spec.names     # a valid state, but no path yet
    node.on_state(conversions.state_message([0.0] * len(names), names,
                                            node.get_clock().now().to_msg()))
    logged = capfd.readouterr().err
    assert 'zero command: stale state' in logged
    assert 'zero command: no reference path yet' in logged
    assert node.stopped and node.stop_reason == 'no reference path yet'


def test_the_node_plans_with_the_robot_yaml_controller(node_factory):
    # One source: with no overrides the node's controller is the one in-process runs
    # build from config/millirobot.yaml (the lockstep test's bit-for-bit premise).
    node = node_factory()
    assert node.controller.config == load_robot_config('millirobot').controller


def test_every_controller_setting_can_be_set(node_factory):
    node = node_factory('path_stride:=3', 'planner.mppi.warm_start:=false',
                        'planner.mppi.include_nominal:=false')
    assert node.controller.config.path_stride == 3
    assert node.controller.planner.settings.warm_start is False
    assert node.controller.planner.settings.include_nominal is False
