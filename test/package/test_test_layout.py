"""The tests' own layout: shared helpers live in test/helpers/, tests import no test."""

import ast
import pathlib

TEST = pathlib.Path(__file__).resolve().parents[1]


def imported_modules(path):
    """Return the top-level names of every module a Python file imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split('.')[0])
    return names


def test_no_test_module_imports_another():
    tests = {path.stem for path in TEST.rglob('test_*.py')}
    for path in TEST.rglob('*.py'):
        assert not imported_modules(path) & tests, path


def test_shared_modules_live_in_helpers():
    # Anything under test/ that is neither a test module nor a conftest is a helper.
    for path in TEST.rglob('*.py'):
        if path.name.startswith('test_') or path.name == 'conftest.py':
            continue
        assert path.parent == TEST / 'helpers', f'{path.relative_to(TEST)}: move to helpers/'
