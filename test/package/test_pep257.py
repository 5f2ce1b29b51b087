"""ament_pep257 over the code; the package's public API must also have docstrings."""

import pathlib

from ament_pep257.main import main

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_pep257_ament_convention():
    paths = [str(ROOT / path) for path in ('meta_mpc_ros', 'test', 'launch', 'tools')]
    assert main(argv=paths) == 0, 'Found docstring style errors'


def test_public_api_has_docstrings():
    # D100-D104: modules, public classes, methods, functions and packages.
    argv = ['--add-select', 'D100', 'D101', 'D102', 'D103', 'D104', '--',
            str(ROOT / 'meta_mpc_ros')]
    assert main(argv=argv) == 0, 'Public API without docstrings'
