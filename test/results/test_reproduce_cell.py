"""
A committed closed-loop cell reproduces bit for bit from its JSON alone.

docs/results/reproduce_cell.json holds the closed-loop grid at its smoke budget
(`python -m meta_mpc_ros.results.cells`); each row's `run` and the file's `settings`
name everything its episode depends on. The test re-runs the cheapest row (fewest
steps, MB, no adaptation) and asks for the committed cost exactly: a change to the
model's kernels, the planner, the cost, the simulator or the seeding shows here, and
the file is regenerated with the command above in the same commit. The bits are those
of one set of kernels (results.cells.kernels): the file holds the row's numbers on
each set it was run on, and on other kernels the test says how to add them.
"""

import json
import pathlib

from meta_mpc_ros.results import cells
import pytest

COMMITTED = pathlib.Path(__file__).resolve().parents[2] / 'docs' / 'results' / \
    f'{cells.NAME}.json'


def test_a_committed_cell_reproduces_bit_for_bit():
    data = json.loads(COMMITTED.read_text())
    row = cells.test_row(data)
    assert row['run']['threads'] == 1 and row['run']['checkpoint_digest']
    assert row['run']['settings_digest'] in data['settings']
    committed = cells.expected(data, row)
    if committed is None:
        pytest.skip(f"{COMMITTED.name} holds no numbers for this machine's kernels "
                    f'({cells.kernels(data["settings"][row["run"]["settings_digest"]])}); '
                    'python -m meta_mpc_ros.results.cells --add-kernels adds them')
    new = cells.rerun(data, row)
    assert new['steps'] == row['steps']
    assert new['cost'] == committed[0], (
        f'{row["method"]} {row["task"]} {row["condition"]} seed {row["seed"]} costs '
        f'{new["cost"]!r} now, {committed[0]!r} committed at {row["run"]["commit"]}')
    assert new['error_before'] == committed[1]


def test_the_kernels_name_the_cpu_and_the_planning_precision():
    data = json.loads(COMMITTED.read_text())
    settings = next(iter(data['settings'].values()))
    here = cells.kernels(settings)
    assert here.endswith(('planning float32', 'planning bfloat16'))
    assert cells.kernels(dict(settings, controller=dict(settings['controller'],
                                                        dtype='float32'))).endswith(
        'planning float32')
    # The legacy file's kernels, and every other set it holds, give numbers to check.
    kinds = {data.get('kernels', cells.LEGACY_KERNELS), *data.get('reproductions', {})}
    assert all(', planning ' in kind for kind in kinds)


def test_settings_round_trip():
    from meta_mpc_ros.pipeline.config import load_robot_config
    settings = cells.episode_settings(load_robot_config('millirobot'))
    assert cells.episode_settings(cells.robot_config(settings)) == settings
    assert len(cells.settings_digest(settings)) == 16


def test_records_from_before_adapters_owned_their_settings_still_load():
    # The committed file spells MB+DE's settings as evaluation.de_steps and
    # de_learning_rate, as every record did before the adapters: section.
    from meta_mpc_ros.core.adapters import ContinualSettings, DynamicEvaluationSettings
    data = json.loads(COMMITTED.read_text())
    settings = next(iter(data['settings'].values()))
    config = cells.robot_config(dict(settings, evaluation={
        'de_steps': 4, 'de_learning_rate': 0.01, 'episode_steps': 0}))
    assert config.adapter_settings('de') == DynamicEvaluationSettings(4, 0.01)
    assert config.adapter_settings('continual') == ContinualSettings()
    assert 'de_steps' not in cells.episode_settings(config)['evaluation']
