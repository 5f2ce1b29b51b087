"""Adapter and training-method names are spelled in their registries and nowhere else."""

import pathlib
import re

from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.objectives import METHODS
from meta_mpc_ros.core.roles import BASELINE_ADAPTER, DEFAULT_ADAPTER

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The registries, and the two roles some adapters play (core/roles.py).
OWNERS = {'meta_mpc_ros/core/adapters.py', 'meta_mpc_ros/core/objectives.py',
          'meta_mpc_ros/core/roles.py'}
# Still spelling a name, in files others are changing: TrainingConfig.method's default
# ('grbal') and the demo's featured run ('grbal') and baseline ('mb'). Each should read
# core/roles.py; remove it here when it does. The model-update deltas and the speed
# bench and report (issue 26's work, merged beside this test) key their rows by name.
PENDING = {'meta_mpc_ros/core/meta_training.py', 'meta_mpc_ros/demo.py',
           'meta_mpc_ros/core/parameter_delta.py', 'meta_mpc_ros/bench/core_speed.py',
           'meta_mpc_ros/results/report_speed.py'}


def test_the_roles_are_registered():
    for name in (DEFAULT_ADAPTER, BASELINE_ADAPTER):
        assert name in ADAPTERS and ADAPTERS[name].training_method in METHODS


def test_no_module_spells_an_adapter_or_method_name():
    # Code and launch files count; config YAML and tests name them on purpose.
    names = '|'.join(sorted(set(ADAPTERS) | set(METHODS)))
    spelled = re.compile(rf"""['"]({names})['"]""")
    files = [path for folder in ('meta_mpc_ros', 'launch', 'tools')
             for path in (ROOT / folder).rglob('*.py')] + [ROOT / 'setup.py']
    found = {str(path.relative_to(ROOT)) for path in files if spelled.search(path.read_text())}
    assert found <= OWNERS | PENDING, sorted(found - OWNERS - PENDING)
