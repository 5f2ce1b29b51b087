"""
The millirobot result experiments run end to end at the smoke budget.

They use the session's small trained models (conftest.tiny_models) instead of the
shipped ones, and write into a temporary docs folder.
"""

import json
import math
import pathlib
import shutil

from meta_mpc_ros.results import cells, closed_loop, model_error
import pytest

pytestmark = pytest.mark.slow


def models(tiny_models):
    return {method: str(tiny_models[method])
            for method in ('mb', 'grbal', 'rebal', 'continual')}


def test_closed_loop_smoke(tmp_path, tiny_models):
    checkpoints = dict(models(tiny_models), de=str(tiny_models['mb']))
    data = closed_loop.run('smoke', seed=3, out=tmp_path, checkpoints=checkpoints, workers=1)
    written = json.loads((tmp_path / 'results' / 'closed_loop.json').read_text())
    assert written['seed'] == 3 and written['budget'] == 'smoke'
    assert written['transitions'] > 0 and written['wall_seconds'] > 0
    # 1 task x 2 conditions x 1 seed x 5 methods.
    assert len(data['episodes']) == 10
    assert all(math.isfinite(row['cost']) for row in data['episodes'])
    assert sum(data['summary']['wins'].values()) == 2
    assert (tmp_path / 'figures' / 'closed_loop.png').stat().st_size > 10000
    # A row re-runs from the written JSON alone (results.cells), to the bit.
    row = written['episodes'][-1]
    assert cells.rerun(written, row)['cost'] == row['cost']


def test_model_error_smoke(tmp_path, tiny_models):
    data = model_error.run('smoke', seed=1, out=tmp_path,
                           robots={'millirobot': models(tiny_models)})
    rows = data['robots']['millirobot']['rows']
    # Nine conditions x five methods, each with finite errors; MB never changes.
    assert len(rows) == 9 * 5
    assert all(math.isfinite(row['after']) for row in rows)
    assert all(row['before'] == row['after'] for row in rows if row['method'] == 'MB')
    curves = data['robots']['millirobot']['switch']['curves']
    assert set(curves) == {'MB', 'MB+DE', 'GrBAL', 'GrBAL (before)', 'ReBAL', 'Continual'}
    for name in ('model_error_millirobot', 'model_error_switch_millirobot'):
        assert (tmp_path / 'figures' / f'{name}.png').is_file()


def test_the_base_runs_its_own_grid_into_its_own_file(tmp_path):
    # `bench all --only closed_loop --robots diff_drive`, smoke: its training floor and
    # its first held-out condition, its shipped models; the millirobot's file untouched.
    from meta_mpc_ros.results import report
    from meta_mpc_ros.sim.diff_drive_conditions import TEST_CONDITIONS
    data = closed_loop.run('smoke', seed=0, out=tmp_path, workers=1, only=('diff_drive',))
    assert not (tmp_path / 'results' / 'closed_loop.json').exists()
    written = json.loads((tmp_path / 'results' / 'closed_loop_diff_drive.json').read_text())
    assert written['robot'] == 'diff_drive' and written['training_condition'] == 'carpet'
    assert data['conditions'] == ('carpet', TEST_CONDITIONS[0])
    assert len(written['episodes']) == 10
    assert all(0.0 <= row['distance_mean_m'] < 0.5 for row in written['episodes'])
    assert written['checkpoints']['grbal'].endswith('diff_drive_grbal.pt')
    # Its switch episodes: the figure-8 from carpet, switched half-way (step 10 of 20)
    # to the held-out condition, every method on the same seed.
    assert written['switch'] == {'task': 'figure8', 'from': 'carpet',
                                 'to': [TEST_CONDITIONS[0]], 'step': 10, 'steps': 20}
    switched = written['switch_episodes']
    assert sorted(row['method'] for row in switched) == sorted(closed_loop.METHODS)
    assert all(row['switch'] == [10, TEST_CONDITIONS[0]] and row['steps'] == 20 and
               0.0 <= row['distance_after_switch_m'] < 0.5 for row in switched)
    # Rendered under section 2 (after the millirobot's committed grid), with paired
    # tracking verdicts against MB.
    committed = pathlib.Path(__file__).resolve().parents[2] / 'docs' / 'results'
    shutil.copy(committed / 'closed_loop.json', tmp_path / 'results')
    text = report.render(tmp_path)
    section = text[text.index('### diff_drive in closed loop\n\nEach of'):]
    assert 'GrBAL tracks closer than MB' in section and '| wet_floor |' in section
    assert 'diff_drive, after a switch, distance to the path, GrBAL tracks closer' in section
    assert 'After a switch to a held-out condition an adaptive method' in section
    with pytest.raises(SystemExit, match='follows no paths'):
        closed_loop.run('smoke', out=tmp_path, only=('half_cheetah',))
