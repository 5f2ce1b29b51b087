"""The README and the configuration files agree with the code."""

import pathlib
import re
import sys

from meta_mpc_ros.pipeline.config import load_robot_config
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'tools'))
import parameter_tables  # noqa: E402, I100


def node_parameters(node):
    """Return the ros__parameters of config/<node>.yaml."""
    data = yaml.safe_load((ROOT / 'config' / f'{node}.yaml').read_text())
    return data['/**']['ros__parameters']


def test_parameter_tables_are_current():
    text = (ROOT / 'README.md').read_text()
    assert parameter_tables.render(text) == text, \
        'README parameter tables are stale: run .venv/bin/python tools/parameter_tables.py'


def test_generated_sections_are_filled_in():
    text = (ROOT / 'README.md').read_text()
    assert '(filled in' not in text


def test_controller_settings_agree_between_node_and_robot_config():
    # Evaluation in-process and the live node must plan the same way.
    controller = load_robot_config(ROOT / 'config' / 'millirobot.yaml').controller
    node = node_parameters('mppi_controller_node')
    for key in ('planner', 'num_samples', 'horizon', 'iterations', 'temperature',
                'smoothing_window', 'dtype', 'lookahead_m', 'model_timeout_s', 'seed'):
        assert node[key] == getattr(controller, key), key
    assert tuple(node['noise_sigma']) == tuple(controller.noise_sigma)


def test_estimator_window_and_rate_match_training():
    config = load_robot_config(ROOT / 'config' / 'millirobot.yaml')
    estimator = node_parameters('state_estimator_node')
    assert estimator['window'] == config.training.past_steps
    assert abs(1.0 / estimator['control_rate_hz'] - 0.1) < 1e-12   # the env's control_dt


def test_every_reliability_rule_names_tests_that_exist():
    text = (ROOT / 'README.md').read_text()
    section = text.split('<!-- reliability:begin -->')[1].split('<!-- reliability:end -->')[0]
    rules = [rule for rule in re.split(r'\n(?=\d+\. )', section.strip()) if rule]
    assert len(rules) >= 10
    for rule in rules:
        named = re.findall(r'`(test/[\w/]+\.py)::(test_\w+)`', rule)
        assert named, f'rule without a test: {rule[:60]}'
        for path, name in named:
            source = (ROOT / path).read_text()
            assert re.search(rf'^def {name}\(', source, re.MULTILINE), f'{path}::{name}'
