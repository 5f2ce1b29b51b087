"""`meta-mpc evaluate` without --adapter uses the adapter the checkpoint was trained for."""

import json
import subprocess

import pytest


@pytest.mark.parametrize('method', ['mb', 'continual'])
def test_evaluate_picks_the_adapter_from_the_checkpoint(tiny_models, python, tmp_path,
                                                        method):
    report = tmp_path / 'report.json'
    result = subprocess.run(
        [python, '-m', 'meta_mpc_ros.cli', 'evaluate', '--checkpoint',
         str(tiny_models[method]), '--steps', '20', '--json', str(report)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f'adapter {method} (from the checkpoint' in result.stdout
    assert json.loads(report.read_text())['adapter'] == method
