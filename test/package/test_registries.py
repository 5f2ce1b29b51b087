"""Adapter and training-method names are spelled in their registries and nowhere else."""

import pathlib
import re

from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.objectives import METHODS
from meta_mpc_ros.core.roles import (BASELINE_ADAPTER, DEFAULT_ADAPTER,
                                     DYNAMIC_EVALUATION_BASELINE)

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The registries, and the roles some adapters play (core/roles.py).
OWNERS = {'meta_mpc_ros/core/adapters.py', 'meta_mpc_ros/core/objectives.py',
          'meta_mpc_ros/core/roles.py'}
# Still listing adapters by their table labels, each for a purpose of its own rather
# than "every adapter" or a role: model_error's figure series (with "GrBAL (before)"),
# report_legged's best-of pairs and sample-efficiency columns, sample_efficiency's
# curves by label. Remove one here when it reads ADAPTERS[name].label.
LABELS_PENDING = {'meta_mpc_ros/results/model_error.py', 'meta_mpc_ros/results/report_legged.py',
                  'meta_mpc_ros/results/sample_efficiency.py'}


def _shipped_files():
    # Code and launch files count; config YAML and tests name them on purpose.
    return [path for folder in ('meta_mpc_ros', 'launch', 'tools')
            for path in (ROOT / folder).rglob('*.py')] + [ROOT / 'setup.py']


def _spelling(pattern):
    return {str(path.relative_to(ROOT)) for path in _shipped_files()
            if pattern.search(path.read_text())}


def test_the_roles_are_registered():
    for name in (DEFAULT_ADAPTER, BASELINE_ADAPTER, DYNAMIC_EVALUATION_BASELINE):
        assert name in ADAPTERS and ADAPTERS[name].training_method in METHODS


def test_no_module_spells_an_adapter_or_method_name():
    names = '|'.join(sorted(set(ADAPTERS) | set(METHODS)))
    found = _spelling(re.compile(rf"""(['"])({names})\1"""))
    assert found <= OWNERS, sorted(found - OWNERS)


def test_no_module_lists_adapters_by_label():
    # A list, tuple, set or dict of two or more labels ('MB', 'MB+DE' or
    # {'GrBAL': 0.8, 'Continual': 0.7}) is a method list written beside the registry.
    label = '|'.join(re.escape(spec.label) for spec in ADAPTERS.values())
    item = rf"""(?:'(?:{label})'|"(?:{label})")(?:\s*:\s*[^,:()\[\]{{}}]+)?"""
    found = _spelling(re.compile(rf'[(\[{{,]\s*{item}\s*,\s*{item}\s*[,)\]}}]'))
    assert found <= OWNERS | LABELS_PENDING, sorted(found - OWNERS - LABELS_PENDING)
