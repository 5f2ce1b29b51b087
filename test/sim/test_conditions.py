"""World conditions: spec parsing, and what each condition does to the robot."""

import math
import subprocess
import sys

from meta_mpc_ros.robots.millirobot import MILLIROBOT_STATE
from meta_mpc_ros.sim import conditions
from meta_mpc_ros.sim.conditions import (Condition, parse_condition, PRESETS,
                                         sample_training_condition, TEST_CONDITIONS,
                                         TRAINING_CONDITIONS, TRAINING_DISTRIBUTION)
from meta_mpc_ros.sim.millirobot_model import (build_model, TERRAIN_MAT_THICKNESS,
                                               TERRAIN_MAX_HEIGHT)
from meta_mpc_ros.sim.millirobot_sim import MillirobotSim
from meta_mpc_ros.sim.world import terrain_heights
from millirobot_rollout import hold_command
import mujoco
import numpy as np
import pytest

# ---------------------------------------------------------------- parsing


def test_presets_are_the_papers_terrains_and_test_conditions():
    assert TRAINING_CONDITIONS == ('carpet', 'styrofoam', 'turf')
    assert set(TEST_CONDITIONS) == {'missing_leg', 'slippery_slope', 'novel_terrain',
                                    'miscalibration', 'payload'}
    assert set(PRESETS) == set(TRAINING_CONDITIONS) | set(TEST_CONDITIONS)
    assert parse_condition('carpet') == Condition()


@pytest.mark.parametrize('name', list(PRESETS))
def test_every_preset_round_trips_to_its_own_name(name):
    assert parse_condition(name).to_spec() == name
    assert parse_condition(parse_condition(name).to_spec()) == PRESETS[name]


def test_key_values_combine_left_to_right():
    condition = parse_condition('carpet,slope_deg=8,payload_kg=0.02')
    assert (condition.slope_deg, condition.payload_kg) == (8.0, 0.02)
    assert condition.friction == PRESETS['carpet'].friction
    assert condition.to_spec() == 'carpet,slope_deg=8,payload_kg=0.02'
    # A later preset replaces every field, later keys override the preset.
    assert parse_condition('friction=0.5,turf') == PRESETS['turf']
    assert parse_condition('turf,friction=0.5').friction == 0.5
    mixed = parse_condition('slippery_slope,payload_kg=0.02,drag=0.3')
    assert mixed.slope_deg == 8.0 and mixed.drag == 0.3 and mixed.friction == 0.4


def test_free_form_spec_and_aliases():
    condition = parse_condition(
        'friction=0.4,slope_deg=8,payload_kg=0.02,leg_missing=2,cmd_bias=0.1')
    assert condition.friction == 0.4 and condition.leg_missing == 2
    assert condition.cmd_bias_left == condition.cmd_bias_right == 0.1
    assert parse_condition('leg_missing=left_rear').leg_missing == 2
    assert parse_condition(' carpet , cmd_scale = 0.9 ').cmd_scale_right == 0.9
    assert parse_condition(condition.to_spec()) == condition
    # The canonical string names the closest preset: here slippery_slope (friction 0.4,
    # slope 8, no roughness) leaves fewer fields to override than carpet.
    assert condition.to_spec().startswith('slippery_slope,')


@pytest.mark.parametrize('spec, named', [
    ('', 'empty'), ('carpte', 'carpte'), ('friction=', 'friction='),
    ('friction=abc', 'abc'), ('=3', '=3'), ('friction=1=2', 'friction=1=2'),
    ('frction=1', 'frction'), ('friction=nan', 'friction=nan'),
    ('friction=inf', 'friction=inf'), ('bumps=1.5', '1.5'), ('leg_missing=7', 'leg_missing'),
    ('carpet,,turf', 'empty part'), ('friction=-1', 'friction'), ('slope_deg=45', 'slope_deg'),
    ('styrofoam,slope_deg=20', 'too steep'), ('seed=-1', 'seed'),
])
def test_malformed_specs_raise_naming_the_bad_part(spec, named):
    with pytest.raises(ValueError, match=named.replace('=', '.').replace('1.5', '1\\.5')):
        parse_condition(spec)


def test_condition_fields_are_validated():
    with pytest.raises(ValueError):
        Condition(bumps=2.5)
    with pytest.raises(ValueError):
        Condition(friction=True)
    assert Condition(friction=1) == Condition(friction=1.0)
    with pytest.raises(ValueError):
        parse_condition(3)


def test_sampled_training_tasks_are_seeded_variations_of_the_training_terrains():
    specs = [sample_training_condition(np.random.default_rng(seed)) for seed in range(30)]
    assert specs == [sample_training_condition(np.random.default_rng(seed))
                     for seed in range(30)]
    assert len(set(specs)) == 30
    bases = {spec.split(',')[0] for spec in specs}
    assert bases == set(TRAINING_CONDITIONS)
    for spec in specs:
        condition = parse_condition(spec)
        base = PRESETS[spec.split(',')[0]]
        low, high = TRAINING_DISTRIBUTION['friction_factor']
        assert low - 1e-3 <= condition.friction / base.friction <= high + 1e-3
        assert 0.0 <= condition.slope_deg <= TRAINING_DISTRIBUTION['slope_deg'][1]
        assert condition.leg_missing == -1 and condition.bumps == 0
    # Motor wear, loads and slopes really vary from task to task.
    for key in ('cmd_scale_left', 'cmd_bias_right', 'payload_kg', 'drag', 'slope_deg'):
        assert len({getattr(parse_condition(spec), key) for spec in specs}) > 20, key


def test_every_test_condition_lies_outside_the_training_distribution():
    # In kind (a missing leg, bumps) or in magnitude (slope, load, miscalibration).
    ranges = TRAINING_DISTRIBUTION

    def outside(condition):
        scales = (condition.cmd_scale_left, condition.cmd_scale_right)
        biases = (condition.cmd_bias_left, condition.cmd_bias_right)
        return (condition.leg_missing >= 0 or condition.bumps > 0
                or condition.slope_deg > ranges['slope_deg'][1]
                or condition.payload_kg > ranges['payload_kg'][1]
                or condition.drag > ranges['drag'][1]
                or any(not ranges['cmd_scale'][0] <= v <= ranges['cmd_scale'][1]
                       for v in scales)
                or any(not ranges['cmd_bias'][0] <= v <= ranges['cmd_bias'][1]
                       for v in biases))

    for name in TEST_CONDITIONS:
        assert outside(PRESETS[name]), name
    draws = [parse_condition(sample_training_condition(np.random.default_rng(seed)))
             for seed in range(200)]
    assert not any(outside(condition) for condition in draws)


def test_parsing_imports_no_mujoco():
    code = ('import sys; import meta_mpc_ros.sim.conditions as c; '
            'c.parse_condition("carpet,slope_deg=8"); print("mujoco" in sys.modules)')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'False'
    assert 'mujoco' not in conditions.__dict__


# ---------------------------------------------------------------- dynamics

# Open loop for 3 s at one command; every condition is compared with carpet under the
# same command and the same reset seeds (1, 2, 3: three initial leg phases, averaged).
TURNING = (8.0, 16.0)
STRAIGHT = (12.5, 12.5)
SECONDS = 3.0
SEEDS = (1, 2, 3)
# Margins, from carpet's own spread (asserted below): at the straight command the end
# points of the three seeds lie within 4 cm of each other, so a condition must move the
# mean end point by 6 cm; turning amplifies the leg phase (means of three seeds differ
# by up to 0.15 m), so there a condition must move it by 0.25 m.
MARGIN = {STRAIGHT: 0.06, TURNING: 0.25}
# Styrofoam's low friction shows in skid-steer turning; every other condition already
# shows going straight.
COMMAND = {name: STRAIGHT for name in PRESETS}
COMMAND['styrofoam'] = TURNING


@pytest.fixture(scope='module')
def sim():
    return MillirobotSim('carpet', seed=0)


def run(sim, condition, command, seed=1, seconds=SECONDS):
    """Apply a condition, reset, hold a command; return the states every 0.1 s."""
    sim.set_condition(condition)
    return hold_command(sim, command, seconds, seed)


def mean_end(sim, condition, command, seeds=SEEDS):
    """Return the mean x, y where the robot ends up over several reset seeds."""
    return np.mean([run(sim, condition, command, seed)[-1, :2] for seed in seeds], axis=0)


def yaws(states):
    return np.unwrap(np.arctan2(states[:, MILLIROBOT_STATE.index('sin_yaw')],
                                states[:, MILLIROBOT_STATE.index('cos_yaw')]))


def test_carpet_spread_is_within_the_stated_bounds(sim):
    ends = [run(sim, 'carpet', STRAIGHT, seed)[-1, :2] for seed in SEEDS]
    assert max(np.linalg.norm(a - b) for a in ends for b in ends) < 0.04
    other_seeds = mean_end(sim, 'carpet', TURNING, seeds=(4, 5, 6))
    assert np.linalg.norm(mean_end(sim, 'carpet', TURNING) - other_seeds) < 0.15


@pytest.mark.parametrize('name', [n for n in PRESETS if n != 'carpet'])
def test_each_condition_changes_where_the_robot_ends_up(sim, name):
    command = COMMAND[name]
    carpet = mean_end(sim, 'carpet', command)
    other = mean_end(sim, name, command)
    assert np.linalg.norm(other - carpet) > MARGIN[command], (carpet, other)


def test_uphill_is_slower_and_downhill_faster(sim):
    # Slope rising along +x; the robot starts heading +x.
    flat = run(sim, 'carpet', STRAIGHT)[-1, 0]
    uphill = run(sim, 'carpet,slope_deg=10', STRAIGHT)[-1, 0]
    downhill = run(sim, 'carpet,slope_deg=-10', STRAIGHT)[-1, 0]
    assert uphill < flat - 0.05
    assert downhill > flat + 0.05
    slippery = run(sim, 'slippery_slope', STRAIGHT)[-1, 0]
    assert slippery < flat - 0.05


def test_a_missing_leg_makes_the_robot_turn(sim):
    carpet = yaws(run(sim, 'carpet', STRAIGHT))[-1]
    missing = yaws(run(sim, 'missing_leg', STRAIGHT))[-1]
    assert abs(carpet) < 0.05
    assert abs(missing) > 0.2


def test_payload_and_drag_slow_the_robot(sim):
    flat = run(sim, 'carpet', STRAIGHT)[-1, 0]
    assert run(sim, 'carpet,payload_kg=0.05', STRAIGHT)[-1, 0] < flat - 0.05
    assert run(sim, 'carpet,drag=0.3', STRAIGHT)[-1, 0] < flat - 0.05
    assert run(sim, 'payload', STRAIGHT)[-1, 0] < flat - 0.05


def test_miscalibration_changes_the_rates_the_motors_get(sim):
    states = run(sim, 'miscalibration', STRAIGHT)
    # Left: 0.7 * 12.5 = 8.75 rad/s; right: 12.5 + 2.0 = 14.5 rad/s.
    np.testing.assert_allclose(sim.motor_setpoints, [8.75, 14.5])
    np.testing.assert_array_equal(sim.command, STRAIGHT)
    rates = states[10:, list(MILLIROBOT_STATE.indices('left_rate', 'right_rate'))].mean(0)
    assert rates[1] - rates[0] > 3.0        # the motors no longer run at equal rates
    assert yaws(states)[-1] > 0.5           # so the robot veers left


def _model_arrays(model):
    """Return every array field of an MjModel, plus the options, by name."""
    arrays = {name: np.array(getattr(model, name)) for name in dir(model)
              if not name.startswith('_') and isinstance(getattr(model, name), np.ndarray)}
    arrays['opt.gravity'] = np.array(model.opt.gravity)
    return arrays


def test_apply_then_remove_restores_the_original_model_and_dynamics():
    fresh = MillirobotSim('turf', seed=0)
    reference = run(fresh, 'turf', TURNING, seconds=1.0)
    applied = _model_arrays(fresh.model)
    compiled = _model_arrays(build_model()[0])
    assert len(compiled) > 100
    sim = MillirobotSim('turf', seed=0)
    run(sim, 'novel_terrain,slope_deg=5,slope_dir_deg=30,payload_kg=0.02,drag=0.2,'
             'leg_missing=3,cmd_bias=1', TURNING, seconds=0.5)
    # Removing every condition gives back the model as compiled, array for array ...
    sim.world.restore()
    after = _model_arrays(sim.model)
    assert [name for name in compiled if not np.array_equal(compiled[name], after[name])] == []
    # ... and switching back gives the same model and the same trajectory, bit for bit.
    trajectory = run(sim, 'turf', TURNING, seconds=1.0)
    after = _model_arrays(sim.model)
    assert [name for name in applied if not np.array_equal(applied[name], after[name])] == []
    np.testing.assert_array_equal(trajectory, reference)


def test_changing_the_condition_keeps_the_robot_where_it_is(sim):
    run(sim, 'carpet', STRAIGHT, seconds=1.0)
    position = sim.measurements().position.copy()
    sim.set_condition('payload,slope_deg=5')
    np.testing.assert_array_equal(sim.measurements().position, position)
    assert sim.condition == 'payload,slope_deg=5'
    with pytest.raises(ValueError, match='bogus'):
        sim.set_condition('bogus')
    assert sim.condition == 'payload,slope_deg=5'


def test_terrain_is_seeded_and_switched_off_when_flat(sim):
    bumpy = parse_condition('novel_terrain')
    np.testing.assert_array_equal(terrain_heights(bumpy), terrain_heights(bumpy))
    other = terrain_heights(bumpy.replace(seed=8))
    assert not np.array_equal(terrain_heights(bumpy), other)
    # Bumps of 15 mm (overlapping ones add up) on a 3 mm texture, clipped to the
    # heightfield's range above the mat.
    assert 0.015 < terrain_heights(bumpy).max() <= TERRAIN_MAX_HEIGHT - TERRAIN_MAT_THICKNESS
    sim.set_condition('styrofoam')
    assert sim.model.geom_contype[sim.layout.terrain_geom] == 0
    assert sim.world.ground_height(0.0, 0.0, radius=0.1) == 0.0
    sim.set_condition('turf')
    assert sim.model.geom_contype[sim.layout.terrain_geom] != 0
    assert sim.model.geom_type[sim.layout.terrain_geom] == mujoco.mjtGeom.mjGEOM_HFIELD
    assert 0.003 < sim.world.ground_height(0.0, 0.0, radius=0.1) <= 0.003 + 0.006
    assert math.isclose(sim.model.geom_friction[sim.layout.floor_geom, 0], 1.4)


def test_presets_combine_instead_of_replacing_each_other():
    # A preset sets only what it changes relative to carpet: slope and payload together.
    both = parse_condition('slippery_slope,payload')
    assert both.slope_deg == PRESETS['slippery_slope'].slope_deg
    assert both.friction == PRESETS['slippery_slope'].friction
    assert both.payload_kg == PRESETS['payload'].payload_kg
    assert parse_condition('payload,slippery_slope') == both
    assert parse_condition(both.to_spec()) == both
