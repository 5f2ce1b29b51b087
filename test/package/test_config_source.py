"""One config source per node: the robot YAML's sections are the nodes' defaults."""

import dataclasses
import pathlib

from meta_mpc_ros.core.controller import ControllerConfig, make_planner, PLANNERS
from meta_mpc_ros.core.costs import build_cost
from meta_mpc_ros.core.millirobot import MILLIROBOT_ACTION, MILLIROBOT_STATE
from meta_mpc_ros.core.planning.mppi import MPPIConfig
from meta_mpc_ros.core.planning.sampling import CEMConfig
from meta_mpc_ros.pipeline.config import EvaluationSettings, load_robot_config
from meta_mpc_ros.ros import adaptive_dynamics_node, mppi_controller_node
from meta_mpc_ros.ros.controller_parameters import controller_config, PLANNER_SETTINGS_FIELD
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROBOTS = sorted(path.stem for path in (ROOT / 'config').glob('*.yaml')
                if 'robot' in (yaml.safe_load(path.read_text()) or {}))


def names(specs):
    """Return the parameter names of a tuple of ParameterSpec."""
    return {spec.name for spec in specs}


def defaults(specs):
    """Return parameter name -> default of a tuple of ParameterSpec."""
    return {spec.name: spec.default for spec in specs}


def node_yaml(node):
    """Return the ros__parameters of config/<node>.yaml."""
    return yaml.safe_load((ROOT / 'config' / f'{node}.yaml').read_text())[
        '/**']['ros__parameters']


def test_the_robot_configs_are_found():
    assert 'millirobot' in ROBOTS and len(ROBOTS) >= 5


def test_every_controller_setting_is_a_node_parameter():
    declared = names(mppi_controller_node.parameters())
    for field in dataclasses.fields(ControllerConfig):
        if field.name != PLANNER_SETTINGS_FIELD:
            assert field.name in declared, field.name
    # Every field of each planner's settings is ControllerConfig's (shared) or the
    # planner's own, a planner.<name>.<setting> parameter.
    shared = {field.name for field in dataclasses.fields(ControllerConfig)}
    for planner, spec in PLANNERS.items():
        for field in dataclasses.fields(spec.settings):
            assert field.name in shared or f'planner.{planner}.{field.name}' in declared, \
                (planner, field.name)
    assert {'planner.mppi.include_nominal', 'planner.mppi.warm_start',
            'planner.cem.elite_fraction', 'path_stride'} <= declared


def test_every_adaptation_setting_is_a_node_parameter():
    declared = names(adaptive_dynamics_node.parameters())
    for field in dataclasses.fields(EvaluationSettings):
        assert field.name in declared or field.name in adaptive_dynamics_node.NOT_NODE_SETTINGS, \
            field.name


@pytest.mark.parametrize('robot', ROBOTS)
def test_the_node_defaults_are_the_robot_yaml(robot):
    config = load_robot_config(robot)
    # The controller the node builds from its defaults is the one in-process runs use.
    assert controller_config(defaults(mppi_controller_node.parameters(robot))) == \
        config.controller
    adaptation = defaults(adaptive_dynamics_node.parameters(robot))
    for name in adaptive_dynamics_node.EVALUATION_PARAMETERS:
        assert adaptation[name] == getattr(config.evaluation, name), name


def test_the_node_yamls_leave_the_robot_settings_to_the_robot_yaml():
    # A setting in both files would be two sources; the node YAML holds node-level
    # settings only (any robot setting written there would override the robot YAML).
    controller = names(mppi_controller_node.parameters()) - names(
        mppi_controller_node.PARAMETERS)
    assert not set(node_yaml('mppi_controller_node')) & controller
    assert not any(key.startswith(('cost', 'planner.')) for key in
                   node_yaml('mppi_controller_node'))
    assert not set(node_yaml('adaptive_dynamics_node')) & set(
        adaptive_dynamics_node.EVALUATION_PARAMETERS)


def test_a_planners_own_settings_reach_it_and_default_as_before():
    cost = build_cost([{'name': 'control_effort'}], MILLIROBOT_STATE)

    def planner_config(config):
        return make_planner(config, cost, MILLIROBOT_ACTION, MILLIROBOT_STATE.dim).config

    assert planner_config(ControllerConfig()) == MPPIConfig(
        num_samples=500, horizon=15, iterations=1, temperature=0.05, noise_sigma=(6.0, 6.0),
        smoothing_window=1, include_nominal=True, warm_start=True)
    assert planner_config(ControllerConfig(planner='cem')) == CEMConfig(
        num_samples=500, horizon=15, iterations=2, elite_fraction=0.1)
    changed = ControllerConfig(planners={'mppi': {'warm_start': False},
                                         'cem': {'elite_fraction': 0.25}})
    assert planner_config(changed).warm_start is False
    assert planner_config(dataclasses.replace(changed, planner='cem')).elite_fraction == 0.25
    # Stored complete: naming a default changes nothing, not even equality.
    assert ControllerConfig(planners={'mppi': {'warm_start': True}}) == ControllerConfig()


def test_unknown_planner_settings_are_refused():
    with pytest.raises(ValueError, match='no own settings'):
        ControllerConfig(planners={'mppi': {'elite_fraction': 0.2}})
    with pytest.raises(ValueError, match='unknown planners'):
        ControllerConfig(planners={'nonesuch': {}})
    spec = {spec.name: spec for spec in mppi_controller_node.parameters()}
    assert spec['planner.cem.elite_fraction'].validate(0.2) is None
    assert 'elite_fraction' in spec['planner.cem.elite_fraction'].validate(1.5)


def test_the_robot_yaml_sets_a_planners_own_settings(tmp_path):
    text = (ROOT / 'config' / 'millirobot.yaml').read_text().replace(
        '  model_timeout_s: 1.0\n',
        '  model_timeout_s: 1.0\n  planners:\n    cem: {elite_fraction: 0.2}\n', 1)
    path = tmp_path / 'millirobot.yaml'
    path.write_text(text)
    controller = load_robot_config(path).controller
    assert controller.own('cem')['elite_fraction'] == 0.2
    assert controller.own('mppi') == {'include_nominal': True, 'warm_start': True}
    assert defaults(mppi_controller_node.parameters(path))['planner.cem.elite_fraction'] == 0.2
