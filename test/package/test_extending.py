"""
CONTRIBUTING's "Extending" recipes, done here: each new part is registered in one place.

A cost term, a world condition, an adapter with a setting of its own, a planner and an
activation are each added as a recipe says, and the test checks that everything that
offers a choice (the CLI, node parameters, launch arguments, the in-process controller,
the robot YAML) sees it.
Each fixture takes its registration out again.
"""

import dataclasses

from layer_paths import assert_paths_agree
from meta_mpc_ros import cli
from meta_mpc_ros.core import adapters, controller, costs, layers, roles
from meta_mpc_ros.core.checkpoint import load_checkpoint, save_checkpoint
from meta_mpc_ros.core.planning.common import (check_state, PlanResult, rollout,
                                               SamplingPlanner)
from meta_mpc_ros.core.session import AdaptationSession
from meta_mpc_ros.paths import share_path
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.pipeline.train import build_model
from meta_mpc_ros.robots.millirobot import MILLIROBOT_ACTION, MILLIROBOT_STATE
from meta_mpc_ros.ros import adaptive_dynamics_node, graph, mppi_controller_node, sim_node
from meta_mpc_ros.sim import conditions
from meta_mpc_ros.sim.millirobot_sim import MillirobotSim
import pytest
import torch
from torch.nn import functional
import yaml


class Speed:
    """Recipe "a cost term": penalise the squared speed of one state entry."""

    name = 'speed'
    settings = {'target': 0.0}

    @classmethod
    def build(cls, weight, settings, state_spec):
        """Build from settings: `entry` (a state entry name) and `target`."""
        return cls(weight, state_spec.index(settings.pop('entry')),
                   float(settings.pop('target', 0.0)))

    def __init__(self, weight, index, target=0.0):
        self.weight, self.index, self.target = weight, index, target

    def __call__(self, states, actions, context):
        """Return (K,) w * sum_t (s_t[entry] - target)^2."""
        return self.weight * (states[:, 1:, self.index] - self.target).pow(2).sum(-1)


@dataclasses.dataclass(frozen=True)
class HoldSettings:
    """
    The hold adapter's own settings.

    :param scale: factor on every parameter, > 0 (1: hold them unchanged).
    """

    scale: float = 1.0

    def __post_init__(self):
        if not self.scale > 0.0:
            raise ValueError(f'scale must be > 0, got {self.scale!r}')


class HoldAdapter:
    """Recipe "an adapter": carries its parameters, scaled by its setting (a dummy)."""

    name = 'hold'
    restarts_from_meta = False

    def __init__(self, settings):
        self.settings = settings

    def adapt(self, model, params, window):
        """Return the parameters times `scale` (the same ones for 1)."""
        if self.settings.scale == 1.0:
            return adapters.Adapted(params)
        return adapters.Adapted({name: self.settings.scale * value
                                 for name, value in params.items()})


class Constant(SamplingPlanner):
    """Recipe "a planner": always the middle of the action box."""

    def reset(self):
        """Nothing to forget."""

    def plan(self, dynamics, state, context):
        """Return the PlanResult of the constant sequence."""
        check_state(state, self.state_dim)
        actions = self.bounds.middle.expand(1, self.horizon, self.action_dim)
        states = rollout(dynamics, state, actions)
        return PlanResult(actions[0, 0].clone(), actions[0].clone(), states[0], states,
                          self.cost(states, actions, context))


@pytest.fixture
def speed_term():
    costs.register_cost_term(Speed)
    yield Speed
    del costs.COST_TERMS['speed']


@pytest.fixture
def hold_adapter():
    adapters.register_adapter('hold', adapters.AdapterSpec(
        lambda step_size, meta, settings: HoldAdapter(settings), ('mb',),
        'hold the parameters', 'Hold', HoldSettings))
    yield 'hold'
    del adapters.ADAPTERS['hold']


@pytest.fixture
def constant_planner():
    controller.PLANNERS['constant'] = controller.PlannerSpec(
        Constant, 'the middle of the action box')
    yield 'constant'
    del controller.PLANNERS['constant']


@pytest.fixture
def softplus_activation():
    layers.ACTIVATIONS['softplus'] = layers.Activation(functional.softplus)
    yield 'softplus'
    del layers.ACTIVATIONS['softplus']


@pytest.fixture
def icy_condition():
    conditions.PRESETS['icy'] = conditions.CARPET.replace(friction=0.05, roughness=0.0)
    yield 'icy'
    del conditions.PRESETS['icy']


def test_a_new_cost_term_builds_by_name_and_its_settings_become_parameters(speed_term):
    cost = costs.build_cost([{'name': 'speed', 'weight': 2.0, 'entry': 'vx', 'target': 1.0}],
                            MILLIROBOT_STATE)
    states = torch.zeros(1, 3, MILLIROBOT_STATE.dim)
    # 2 * ((0 - 1)^2 + (0 - 1)^2) over the two future steps = 4.
    assert float(cost(states, torch.zeros(1, 2, 2), costs.CostContext())) == 4.0
    cost.set_weight('speed', 0.5)
    cost.set_setting('speed', 'target', 0.0)
    assert float(cost(states, torch.zeros(1, 2, 2), costs.CostContext())) == 0.0
    names = [spec.name for spec in mppi_controller_node.cost_parameters(
        [{'name': 'speed', 'weight': 2.0, 'entry': 'vx'}])]
    assert names == ['cost.terms', 'cost.speed.weight', 'cost.speed.target']


def test_a_new_condition_is_accepted_everywhere(icy_condition):
    assert conditions.parse_condition('icy,payload_kg=0.01').friction == 0.05
    assert sim_node._check_condition('icy') is None
    assert sim_node._check_schedule('5.0:icy') is None
    assert graph.resolve_arguments({'terrain_schedule': '5.0:icy'})['terrain_schedule']
    sim = MillirobotSim('icy')
    assert sim.condition == 'icy'
    args = cli.build_parser().parse_args(['evaluate', '--condition', 'icy'])
    assert args.condition == 'icy'


def test_a_new_adapter_is_offered_by_the_cli_nodes_and_launch(hold_adapter, tmp_path):
    args = cli.build_parser().parse_args(['collect', '--adapter', 'hold', '--out', 'x.npz'])
    assert args.adapter == 'hold'
    assert cli.build_parser().parse_args(['evaluate', '--adapter', 'hold']).adapter == 'hold'
    assert 'hold' in cli.build_parser().parse_args(['demo']).adapters.split(',')
    for node in (adaptive_dynamics_node, mppi_controller_node):
        spec = {spec.name: spec for spec in node.PARAMETERS}['adapter']
        assert spec.validate('hold') is None
        assert spec.validate('nonesuch') is not None
    assert 'hold' in {spec.name: spec for spec in graph.declared_arguments()}['adapter'].choices
    assert graph.build_graph({'adapter': 'hold'}, '/tmp/meta_mpc_extending').node(
        'adaptive_dynamics_node').parameters['adapter'] == 'hold'
    # The session carries its parameters, as its restart policy says.
    from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
    model = DynamicsModel(ModelConfig(state_dim=2, action_dim=1, input_indices=(0, 1),
                                      hidden_sizes=(8,)))
    params = model.meta_parameters()
    session = AdaptationSession(model, adapters.make_adapter('hold'), params)
    window = adapters.Window(torch.zeros(3, 2), torch.zeros(2, 1))
    assert session.step(window).params is params and session.current_params is params
    # Its own setting: the robot YAML's `adapters: hold:` sets it, the node declares it
    # as adapter.hold.scale with that default and checks it with HoldSettings.
    data = yaml.safe_load(share_path('config', 'millirobot.yaml').read_text())
    data['adapters']['hold'] = {'scale': 0.5}
    (tmp_path / 'robot.yaml').write_text(yaml.safe_dump(data))
    robot = load_robot_config(tmp_path / 'robot.yaml')
    assert robot.adapter_settings('hold') == HoldSettings(0.5)
    spec = {spec.name: spec for spec in adaptive_dynamics_node.parameters(
        tmp_path / 'robot.yaml')}['adapter.hold.scale']
    assert spec.default == 0.5 and 'Factor on every parameter' in spec.description
    assert spec.validate(2.0) is None and 'scale must be > 0' in spec.validate(0.0)
    halved = adapters.make_adapter('hold', settings=robot.adapter_settings('hold'))
    assert all(torch.equal(value, 0.5 * params[name])
               for name, value in halved.adapt(model, params, window).params.items())


def test_a_new_planner_is_offered_and_plans(constant_planner):
    spec = {spec.name: spec for spec in mppi_controller_node.parameters()}['planner']
    assert spec.validate('constant') is None
    config = controller.ControllerConfig(planner='constant', horizon=3)
    cost = costs.build_cost([{'name': 'control_effort'}], MILLIROBOT_STATE)
    planner = controller.make_planner(config, cost, MILLIROBOT_ACTION, MILLIROBOT_STATE.dim)
    result = planner.plan(lambda states, actions: states, torch.zeros(MILLIROBOT_STATE.dim),
                          costs.CostContext())
    assert torch.equal(result.action, planner.bounds.middle)
    assert result.action.shape == (MILLIROBOT_ACTION.dim,)
    with pytest.raises(ValueError):
        dataclasses.replace(config, planner='nonesuch')


def test_a_new_activation_is_chosen_in_the_yaml_and_runs_on_every_path(softplus_activation,
                                                                       tmp_path):
    data = yaml.safe_load(share_path('config', 'millirobot.yaml').read_text())
    data['model'].update(activation='softplus', hidden_sizes=[16, 12])
    (tmp_path / 'robot.yaml').write_text(yaml.safe_dump(data))
    robot = load_robot_config(tmp_path / 'robot.yaml')
    method = adapters.ADAPTERS[roles.BASELINE_ADAPTER].training_method
    model = build_model(robot, method, MILLIROBOT_STATE, MILLIROBOT_ACTION, seed=0)
    assert model.config.activation == 'softplus'
    # The model, the per-window GrBAL path and the predictor all run softplus.
    params = {name: 3.0 * value for name, value in model.meta_parameters().items()}
    assert_paths_agree(model, params, functional.softplus)
    # Checkpoints carry the choice.
    save_checkpoint(tmp_path / 'model.pt', model, method, robot.robot, MILLIROBOT_STATE,
                    MILLIROBOT_ACTION)
    assert load_checkpoint(tmp_path / 'model.pt').model.config.activation == 'softplus'
