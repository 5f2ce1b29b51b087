"""One config source per node: the robot YAML's sections are the nodes' defaults."""

import dataclasses
import pathlib

from meta_mpc_ros.core.adapters import (ADAPTERS, ContinualSettings,
                                        DynamicEvaluationSettings, make_adapter)
from meta_mpc_ros.core.controller import ControllerConfig, make_planner, PLANNERS
from meta_mpc_ros.core.costs import build_cost
from meta_mpc_ros.core.planning.mppi import MPPISettings
from meta_mpc_ros.core.planning.sampling import CEMSettings
from meta_mpc_ros.pipeline.config import EvaluationSettings, load_robot_config
from meta_mpc_ros.robots.millirobot import MILLIROBOT_ACTION, MILLIROBOT_STATE
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
    # Every field of each planner's own settings is a planner.<name>.<setting> parameter;
    # what ControllerConfig holds (K, H, ...) no planner's settings repeat.
    shared = {field.name for field in dataclasses.fields(ControllerConfig)}
    for planner, spec in PLANNERS.items():
        for field in dataclasses.fields(spec.settings) if spec.settings else ():
            assert f'planner.{planner}.{field.name}' in declared, (planner, field.name)
            assert field.name not in shared, (planner, field.name)
    assert {'planner.mppi.temperature', 'planner.mppi.noise_sigma',
            'planner.mppi.iterations', 'planner.mppi.smoothing_window',
            'planner.mppi.include_nominal', 'planner.mppi.warm_start',
            'planner.cem.iterations', 'planner.cem.elite_fraction', 'path_stride'} <= declared
    assert not declared & {'temperature', 'noise_sigma', 'iterations', 'smoothing_window'}
    # MPPI's temperature and noise are dynamic, as they were before they moved.
    dynamic = {spec.name for spec in mppi_controller_node.parameters() if spec.dynamic}
    assert {'planner.mppi.temperature', 'planner.mppi.noise_sigma'} <= dynamic


def test_every_adaptation_setting_is_a_node_parameter():
    declared = names(adaptive_dynamics_node.parameters())
    for field in dataclasses.fields(EvaluationSettings):
        assert field.name in declared or field.name in adaptive_dynamics_node.NOT_NODE_SETTINGS, \
            field.name
    # Every field of each adapter's own settings is an adapter.<name>.<setting>
    # parameter, and the node reads them back into that adapter's settings.
    for adapter, spec in ADAPTERS.items():
        for field in dataclasses.fields(spec.settings) if spec.settings else ():
            assert f'adapter.{adapter}.{field.name}' in declared, (adapter, field.name)
    assert {'adapter.de.steps', 'adapter.de.learning_rate', 'adapter.de.optimizer',
            'adapter.continual.decay'} <= declared
    values = dict(defaults(adaptive_dynamics_node.parameters()), **{
        'adapter.de.steps': 7, 'adapter.continual.decay': 0.1})
    assert adaptive_dynamics_node.adapter_settings_of(values, 'de') == \
        DynamicEvaluationSettings(steps=7)
    assert adaptive_dynamics_node.adapter_settings_of(values, 'continual') == \
        ContinualSettings(decay=0.1)
    assert adaptive_dynamics_node.adapter_settings_of(values, 'grbal') is None


@pytest.mark.parametrize('robot', ROBOTS)
def test_the_node_defaults_are_the_robot_yaml(robot):
    config = load_robot_config(robot)
    # The controller the node builds from its defaults is the one in-process runs use.
    assert controller_config(defaults(mppi_controller_node.parameters(robot))) == \
        config.controller
    adaptation = defaults(adaptive_dynamics_node.parameters(robot))
    for adapter, settings in config.adapters.items():
        assert adaptive_dynamics_node.adapter_settings_of(adaptation, adapter) == settings
    # The continual method trains with the decay its adapter runs with.
    assert config.training.continual_decay == config.adapter_settings('continual').decay


def test_the_node_yamls_leave_the_robot_settings_to_the_robot_yaml():
    # A setting in both files would be two sources; the node YAML holds node-level
    # settings only (any robot setting written there would override the robot YAML).
    controller = names(mppi_controller_node.parameters()) - names(
        mppi_controller_node.PARAMETERS)
    assert not set(node_yaml('mppi_controller_node')) & controller
    assert not any(key.startswith(('cost', 'planner.')) for key in
                   node_yaml('mppi_controller_node'))
    assert not any(key.startswith('adapter.') for key in node_yaml('adaptive_dynamics_node'))


def test_a_planners_own_settings_reach_it_and_default_as_before():
    cost = build_cost([{'name': 'control_effort'}], MILLIROBOT_STATE)

    def planner_config(config):
        planner = make_planner(config, cost, MILLIROBOT_ACTION, MILLIROBOT_STATE.dim)
        return planner.settings, planner.num_samples, planner.horizon

    # The defaults the controller gave each planner before they owned their settings
    # (CEM's 2 iterations were max(the shared 1, 2)).
    assert planner_config(ControllerConfig()) == (MPPISettings(
        iterations=1, temperature=0.05, noise_sigma=(6.0, 6.0), smoothing_window=1,
        include_nominal=True, warm_start=True), 500, 15)
    assert planner_config(ControllerConfig(planner='cem')) == (CEMSettings(
        iterations=2, elite_fraction=0.1, smoothing=0.1, initial_std_fraction=0.5,
        warm_start=True), 500, 15)
    assert planner_config(ControllerConfig(planner='random_shooting')) == (None, 500, 15)
    changed = ControllerConfig(planners={'mppi': {'warm_start': False},
                                         'cem': {'elite_fraction': 0.25}})
    assert planner_config(changed)[0].warm_start is False
    assert planner_config(dataclasses.replace(changed, planner='cem'))[0].elite_fraction == 0.25
    # Stored complete: naming a default changes nothing, not even equality.
    assert ControllerConfig(planners={'mppi': {'warm_start': True}}) == ControllerConfig()
    assert ControllerConfig(planners={'mppi': MPPISettings()}) == ControllerConfig()


def test_unknown_planner_settings_are_refused():
    with pytest.raises(ValueError, match=r"planner mppi: unknown keys \['elite_fraction'\]"):
        ControllerConfig(planners={'mppi': {'elite_fraction': 0.2}})
    with pytest.raises(ValueError, match='planner random_shooting has no settings'):
        ControllerConfig(planners={'random_shooting': {'iterations': 2}})
    # No function takes another planner's settings.
    with pytest.raises(ValueError, match='must be a mapping or a MPPISettings'):
        ControllerConfig(planners={'mppi': CEMSettings()})
    with pytest.raises(ValueError, match='unknown planners'):
        ControllerConfig(planners={'nonesuch': {}})
    spec = {spec.name: spec for spec in mppi_controller_node.parameters()}
    assert spec['planner.cem.elite_fraction'].validate(0.2) is None
    assert 'elite_fraction' in spec['planner.cem.elite_fraction'].validate(1.5)
    assert 'temperature must be > 0' in spec['planner.mppi.temperature'].validate(0.0)
    assert spec['planner.mppi.noise_sigma'].validate([1.0, 2.0]) is None


def test_the_robot_yaml_sets_a_planners_own_settings(tmp_path):
    data = yaml.safe_load((ROOT / 'config' / 'millirobot.yaml').read_text())
    data['controller'].setdefault('planners', {})['cem'] = {'elite_fraction': 0.2}
    path = tmp_path / 'millirobot.yaml'
    path.write_text(yaml.safe_dump(data))
    controller = load_robot_config(path).controller
    assert controller.own('cem') == CEMSettings(elite_fraction=0.2)
    assert controller.own('mppi') == MPPISettings(temperature=0.05, noise_sigma=(6.0, 6.0))
    given = defaults(mppi_controller_node.parameters(path))
    assert given['planner.cem.elite_fraction'] == 0.2
    assert given['planner.mppi.noise_sigma'] == [6.0, 6.0]


def test_old_flat_planner_keys_still_load(tmp_path):
    # Robot YAMLs and run records written before each planner owned its settings spell
    # MPPI's (and the shared iterations) flat in the controller section.
    data = yaml.safe_load((ROOT / 'config' / 'millirobot.yaml').read_text())
    data['controller'].pop('planners', None)
    data['controller'].update(iterations=3, temperature=0.5, noise_sigma=[2.0, 2.0],
                              smoothing_window=2)
    path = tmp_path / 'old.yaml'
    path.write_text(yaml.safe_dump(data))
    controller = load_robot_config(path).controller
    assert controller.own('mppi') == MPPISettings(iterations=3, temperature=0.5,
                                                  noise_sigma=(2.0, 2.0), smoothing_window=2)
    assert controller.own('cem') == CEMSettings(iterations=3)
    data['controller']['iterations'] = 1        # CEM ran at least 2
    path.write_text(yaml.safe_dump(data))
    assert load_robot_config(path).controller.own('cem').iterations == 2
    # A setting given both ways is one line naming the file and the new key.
    data['controller']['planners'] = {'mppi': {'temperature': 0.1}}
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match=r'old.yaml: controller: temperature given twice '
                       r'\(also as planners: mppi: temperature\)'):
        load_robot_config(path)


def test_an_adapters_own_settings_are_checked():
    spec = {spec.name: spec for spec in adaptive_dynamics_node.parameters()}
    assert spec['adapter.de.steps'].validate(3) is None
    assert 'steps' in spec['adapter.de.steps'].validate(0)
    assert 'optimizer' in spec['adapter.de.optimizer'].validate('rmsprop')
    assert 'decay' in spec['adapter.continual.decay'].validate(1.0)
    with pytest.raises(ValueError, match="adapter de: unknown keys \\['decay'\\]"):
        make_adapter('de', settings={'decay': 0.1})
    with pytest.raises(ValueError, match='has no settings'):
        make_adapter('mb', settings={'steps': 1})
    with pytest.raises(ValueError, match='adapter continual: decay'):
        make_adapter('continual', 1.0, {}, settings={'decay': -0.1})
    # No function takes another adapter's settings.
    with pytest.raises(ValueError, match='must be a mapping or a DynamicEvaluationSettings'):
        make_adapter('de', settings=ContinualSettings())
    assert make_adapter('de', settings={'steps': 2}).settings == DynamicEvaluationSettings(
        steps=2)


def test_the_robot_yaml_sets_an_adapters_own_settings(tmp_path):
    data = yaml.safe_load((ROOT / 'config' / 'millirobot.yaml').read_text())
    data['adapters'] = {'de': {'steps': 9}, 'continual': {'decay': 0.2}}
    path = tmp_path / 'millirobot.yaml'
    path.write_text(yaml.safe_dump(data))
    config = load_robot_config(path)
    assert config.adapter_settings('de') == DynamicEvaluationSettings(steps=9)
    assert config.training.continual_decay == 0.2
    adaptation = defaults(adaptive_dynamics_node.parameters(path))
    assert adaptation['adapter.de.steps'] == 9 and adaptation['adapter.continual.decay'] == 0.2


def test_old_flat_adapter_keys_still_load(tmp_path):
    data = yaml.safe_load((ROOT / 'config' / 'millirobot.yaml').read_text())
    del data['adapters']
    data['evaluation'].update(de_steps=3, de_learning_rate=0.01)
    data['training']['continual_decay'] = 0.1
    path = tmp_path / 'old.yaml'
    path.write_text(yaml.safe_dump(data))
    config = load_robot_config(path)
    assert config.adapter_settings('de') == DynamicEvaluationSettings(3, 0.01)
    assert config.adapter_settings('continual') == ContinualSettings(0.1)
    assert config.training.continual_decay == 0.1
    # A setting given both ways, or out of range, is one line naming the file.
    data['adapters'] = {'de': {'steps': 4}}
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match=r"adapters: de \['steps'\] given twice"):
        load_robot_config(path)
    data['adapters'] = {'de': {'steps': 0}}
    del data['evaluation']['de_steps']
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match='adapters: adapter de: steps must be an integer'):
        load_robot_config(path)
    data['adapters'] = {'nonesuch': {}}
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match=r"unknown adapters \['nonesuch'\]"):
        load_robot_config(path)
