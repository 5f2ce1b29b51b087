"""The README, the docs and the configuration files agree with the code and the results."""

import pathlib
import re
import sys

from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.results import headline
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / 'README.md'
RESULTS = ROOT / 'docs' / 'RESULTS.md'
ROS_INTERFACE = ROOT / 'docs' / 'ros_interface.md'
DOCUMENTS = [README, ROOT / 'CONTRIBUTING.md'] + sorted((ROOT / 'docs').glob('*.md'))
sys.path.insert(0, str(ROOT / 'tools'))
import parameter_tables  # noqa: E402, I100
import robot_contract  # noqa: E402, I100


def node_parameters(node):
    """Return the ros__parameters of config/<node>.yaml."""
    data = yaml.safe_load((ROOT / 'config' / f'{node}.yaml').read_text())
    return data['/**']['ros__parameters']


def between(text, name):
    """Return the part of text between `<!-- name:begin -->` and `<!-- name:end -->`."""
    return text.split(f'<!-- {name}:begin -->')[1].split(f'<!-- {name}:end -->')[0]


def numbers(text):
    """Return the set of numbers written in text, as written (e.g. '0.905', '25,000')."""
    return set(re.findall(r'\d+(?:[.,]\d+)*', text))


def test_parameter_tables_are_current():
    text = ROS_INTERFACE.read_text()
    assert parameter_tables.render(text) == text, \
        'docs/ros_interface.md tables are stale: run .venv/bin/python tools/parameter_tables.py'


def test_robot_contracts_are_current():
    # One contract per registered robot, generated from its description.
    text = (ROOT / 'docs' / 'robot_contract.md').read_text()
    assert robot_contract.render(text) == text, \
        'docs/robot_contract.md is stale: run .venv/bin/python tools/robot_contract.py'
    assert '### millirobot' in text


def test_generated_sections_are_filled_in():
    for path in DOCUMENTS:
        assert '(filled in' not in path.read_text(), path


def test_readme_is_a_five_minute_read():
    # The reference lives in docs/ (mbrl-lib's README is 12 KB beside its docs).
    assert len(README.read_bytes()) <= 12 * 1024


def test_readme_results_are_quoted_from_results():
    text, results = README.read_text(), RESULTS.read_text()
    assert headline.render(text, results) == text, \
        'README results are stale: run .venv/bin/python -m meta_mpc_ros.results.headline'
    assert not headline.missing(results), 'RESULTS.md no longer words a headline this way'


def test_readme_numbers_are_results_numbers():
    text = README.read_text()
    quoted = between(text, 'results')
    assert numbers(quoted) <= numbers(RESULTS.read_text())
    assert "the paper's model at K=1000, H=20" in quoted
    # Nowhere else does the README state a measured speed or ratio: outside code, the
    # demo's printed table and the quoted block, no number carries Hz, ms or 'x'.
    rest = re.sub(r'```.*?```', '', text, flags=re.DOTALL)
    for name in ('results', 'demo'):
        rest = rest.replace(between(text, name), '')
    assert not re.findall(r'\d+(?:\.\d+)?\s*(?:Hz|ms)\b|\d(?:\.\d+)?x\b', rest)


def anchors(text):
    """Return the GitHub anchors of a Markdown file's headings (repeats get -1, -2...)."""
    seen, result = {}, set()
    for title in re.findall(r'^#+ (.+)$', re.sub(r'```.*?```', '', text, flags=re.DOTALL),
                            re.MULTILINE):
        base = headline.anchor(title)
        result.add(base if base not in seen else f'{base}-{seen[base]}')
        seen[base] = seen.get(base, 0) + 1
    return result


def test_every_link_between_the_documents_resolves():
    for path in DOCUMENTS:
        for target in re.findall(r'\]\(([^)\s]+)\)', path.read_text()):
            if re.match(r'[a-z]+:', target):
                continue
            name, _, fragment = target.partition('#')
            linked = (path.parent / name).resolve() if name else path
            assert linked.exists(), f'{path.name}: {target}'
            if fragment and linked.suffix == '.md':
                assert fragment in anchors(linked.read_text()), f'{path.name}: {target}'


def test_every_document_is_in_the_index():
    index = (ROOT / 'docs' / 'README.md').read_text()
    for path in (ROOT / 'docs').glob('*.md'):
        assert path.name == 'README.md' or f']({path.name})' in index, \
            f'docs/README.md does not link {path.name}'


def test_estimator_window_and_rate_match_training():
    config = load_robot_config(ROOT / 'config' / 'millirobot.yaml')
    estimator = node_parameters('state_estimator_node')
    assert estimator['window'] == config.training.past_steps
    assert abs(1.0 / estimator['control_rate_hz'] - 0.1) < 1e-12   # the env's control_dt


def test_every_reliability_rule_names_tests_that_exist():
    section = between(ROS_INTERFACE.read_text(), 'reliability')
    rules = [rule for rule in re.split(r'\n(?=\d+\. )', section.strip()) if rule]
    assert len(rules) >= 10
    for rule in rules:
        named = re.findall(r'`(test/[\w/]+\.py)::(test_\w+)`', rule)
        assert named, f'rule without a test: {rule[:60]}'
        for path, name in named:
            source = (ROOT / path).read_text()
            assert re.search(rf'^def {name}\(', source, re.MULTILINE), f'{path}::{name}'
