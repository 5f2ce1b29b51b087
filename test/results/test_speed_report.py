"""The speed section runs at the smoke budget and RESULTS.md renders every section."""

import json
import pathlib
import shutil

from meta_mpc_ros.results import report, speed
import pytest

pytestmark = pytest.mark.slow


def test_speed_smoke_renders_in_results(tmp_path):
    data = speed.run('smoke', seed=0, out=tmp_path)
    rows = data['core']['planning']
    assert rows and all(row['ours_ms'] > 0 and row['floor_ms'] > 0 for row in rows)
    text = report.render(tmp_path)
    section = text.split('## 5. Speed')[1]
    # Text columns (model, dtype) and measured numbers both reach the table.
    assert rows[0]['model'] in section and rows[0]['dtype'] in section
    assert f'{rows[0]["ours_ms"]:.3g}' in section


def test_committed_results_render(tmp_path):
    """The JSON under docs/results (from `make results`) renders without a gap."""
    docs = pathlib.Path(__file__).resolve().parents[2] / 'docs'
    shutil.copytree(docs / 'results', tmp_path / 'results')
    text = report.render(tmp_path)
    names = {path.stem for path in (tmp_path / 'results').glob('*.json')}
    for name in ('model_error', 'closed_loop', 'legged', 'sample_efficiency', 'speed'):
        assert name in names
    assert 'Not run yet' not in text
    speed_data = json.loads((tmp_path / 'results' / 'speed.json').read_text())
    first = speed_data['core']['planning'][0]
    assert f'{first["ours_ms"]:.3g}' in text.split('## 5. Speed')[1]


def test_the_cost_line_times_sections_bench_all_has_no_record_of():
    from meta_mpc_ros.results.report import run_summary
    recorded = {'sections': {'legged': {'wall_seconds': 600.0, 'budget': 'full',
                                        'executor': 'ray'},
                             'model_error': {'wall_seconds': 60.0, 'budget': 'full',
                                             'executor': 'in-process; only cheetah'}}}
    results = {'make_results': recorded, 'legged': {'wall_seconds': 1.0},
               'closed_loop': {'wall_seconds': 300.0, 'budget': 'full'},
               'model_error': {'robots': {'a': {'wall_seconds': 60.0},
                                          'b': {'wall_seconds': 540.0}}}}
    line = run_summary(recorded, results)
    # The recorded legged run wins over its JSON; closed_loop comes from its JSON; the
    # model-error robots redone last are summed with the others.
    assert 'legged 10.0 min' in line and 'closed_loop 5.0 min' in line
    assert 'model_error 10.0 min' in line and '25 min in all' in line
