"""The MuJoCo differential-drive base: its velocity loop, limits, conditions and tasks."""

import dataclasses
import math

from meta_mpc_ros.robots.diff_drive import ACCELERATION_LIMITS, DIFF_DRIVE, MAX_SPEED
from meta_mpc_ros.sim import diff_drive_conditions as conditions
from meta_mpc_ros.sim.diff_drive_sim import (DiffDriveSim, MAX_WHEEL_RATE, validate_command,
                                             WHEEL_RADIUS, WHEEL_SEPARATION)
from meta_mpc_ros.sim.registry import make_env, robot_specs
import numpy as np
import pytest


def drive(sim, command, seconds):
    """Hold a command for `seconds` at 10 Hz; return the measurements after each step."""
    sim.set_command(command)
    return [sim.step(0.1) and sim.measurements() for _ in range(int(round(seconds / 0.1)))]


def test_the_base_compiles_and_runs_a_second_without_warnings():
    sim = DiffDriveSim()
    drive(sim, [0.2, 1.0], 1.0)
    assert all(warning.number == 0 for warning in sim.data.warning)
    assert sim.time == pytest.approx(1.0)
    assert robot_specs('diff_drive') == (DIFF_DRIVE.state, DIFF_DRIVE.action, 0.1)


def test_a_command_is_reached_late_through_the_ramp_and_the_velocity_loop():
    sim = DiffDriveSim('carpet')
    speeds = [m.linear_velocity[0] for m in drive(sim, [0.3, 0.0], 1.5)]
    # The driver ramps at 1 m/s^2, so 0.1 s in the base is at most 0.1 m/s, and the motor
    # lag and the velocity loop keep it below that.
    assert 0.0 < speeds[0] < ACCELERATION_LIMITS[0] * 0.1
    # The ramp alone would reach 0.3 m/s at 0.3 s; the lag holds it back then.
    assert speeds[2] < 0.9 * 0.3
    # At steady state the carpet's rolling resistance leaves a small velocity error.
    assert 0.27 < speeds[-1] < 0.3 and abs(speeds[-1] - speeds[-2]) < 1e-3


def test_each_wheel_is_limited_so_a_fast_turn_is_slower_than_asked():
    sim = DiffDriveSim('carpet')
    measured = drive(sim, [MAX_SPEED, 1.9], 2.0)[-1]
    # Right wheel setpoint (0.31 + 0.08 * 1.9) / 0.033 = 14.0 rad/s > 12: it is clipped.
    assert (MAX_SPEED + 0.5 * WHEEL_SEPARATION * 1.9) / WHEEL_RADIUS > MAX_WHEEL_RATE
    assert measured.angular_velocity[2] < 0.9 * 1.9
    assert measured.joint_velocities[1] < MAX_WHEEL_RATE + 0.1


def test_bad_commands_are_refused_in_one_line():
    with pytest.raises(ValueError, match='2 finite values'):
        validate_command([math.nan, 0.0])
    with pytest.raises(ValueError, match='2 finite values'):
        DiffDriveSim().set_command([0.1, 0.2, 0.3])
    np.testing.assert_allclose(validate_command([9.0, -9.0]), [MAX_SPEED, -1.9])


def turn(condition):
    """Drive a figure of straight then left turn; return the final measurements."""
    sim = DiffDriveSim(condition)
    drive(sim, [0.25, 0.0], 2.0)
    return drive(sim, [0.25, 1.5], 1.0)[-1]


def test_every_held_out_condition_changes_the_motion_as_it_says():
    carpet = turn('carpet')
    wet, heavy, soft, biased, slope = (turn(name) for name in conditions.TEST_CONDITIONS)
    # Wet floor: the wheels slip sideways in the turn.
    assert abs(wet.linear_velocity[1]) > 5 * abs(carpet.linear_velocity[1])
    # Payload: the loaded base overshoots its turn rate through the velocity loop.
    assert heavy.angular_velocity[2] > carpet.angular_velocity[2] + 0.05
    # A soft right tyre rolls a smaller circle: the base veers right, off its heading.
    assert soft.position[1] < carpet.position[1] - 0.05
    # The left motor's negative bias turns the base left.
    assert biased.angular_velocity[2] > carpet.angular_velocity[2] + 0.2
    # The slope rises towards +y: the base drifts from its carpet track.
    assert np.linalg.norm(slope.position[:2] - carpet.position[:2]) > 0.02


def test_a_condition_changes_at_run_time_and_keeps_the_state():
    sim = DiffDriveSim('carpet')
    drive(sim, [0.2, 0.0], 1.0)
    before = sim.measurements()
    sim.set_condition('soft_tyre,payload_kg=1')
    after = sim.measurements()
    np.testing.assert_array_equal(before.position, after.position)
    assert sim.condition == 'soft_tyre,payload_kg=1.0'
    sim.set_condition('carpet')
    base = sim.model.body('base_link').id
    assert sim.model.body_mass[base] == DiffDriveSim().model.body_mass[base]
    with pytest.raises(ValueError, match="unknown condition 'ice'"):
        sim.set_condition('ice')
    assert sim.condition == 'carpet'


def test_specs_round_trip_and_bad_specs_say_what_is_wrong():
    for name in conditions.PRESETS:
        assert conditions.parse_condition(name).to_spec() == name
    spec = 'tile,tyre_scale_left=0.95,slope_deg=1.5'
    assert conditions.parse_condition(spec).to_spec() == spec
    for bad, reason in (('friction=abc', 'not a number'), ('grip=1', 'unknown condition key'),
                        ('payload_kg=50', 'outside'), ('friction=0.05,slope_deg=8',
                                                       'too steep'), ('', 'non-empty')):
        with pytest.raises(ValueError, match=reason):
            conditions.parse_condition(bad)


def test_held_out_conditions_lie_outside_the_training_distribution():
    rng = np.random.default_rng(0)
    drawn = [conditions.parse_condition(conditions.sample_training_condition(rng))
             for _ in range(300)]
    fields = [field.name for field in dataclasses.fields(conditions.DriveCondition)
              if field.name != 'slope_dir_deg']
    low = {name: min(getattr(c, name) for c in drawn) for name in fields}
    high = {name: max(getattr(c, name) for c in drawn) for name in fields}
    for name in conditions.TEST_CONDITIONS:
        held_out = conditions.parse_condition(name)
        outside = [field for field in fields if not low[field] <= getattr(held_out, field)
                   <= high[field]]
        assert outside, f'{name} lies inside the training distribution'
    assert set(conditions.TRAINING_CONDITIONS).isdisjoint(conditions.TEST_CONDITIONS)


def test_the_environment_follows_a_task_and_scores_it():
    env = make_env('diff_drive', task='straight')
    state, info = env.reset(seed=0)
    assert state.shape == (6,) and info['condition'] == 'carpet'
    for _ in range(20):
        state, reward, terminated, truncated, info = env.step([0.2, 0.0])
    assert state[0] > 0.2 and reward == -info['cost'] and info['distance'] < 0.01
    env.close()
