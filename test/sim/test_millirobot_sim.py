"""The plain millirobot simulator: walking, turning, state, determinism, bad input."""

import math

from meta_mpc_ros.robots.millirobot import MAX_LEG_RATE, MILLIROBOT_STATE
from meta_mpc_ros.sim.millirobot_sim import MillirobotSim
from millirobot_rollout import hold_command
import numpy as np
import pytest


@pytest.fixture(scope='module')
def sim():
    return MillirobotSim('carpet', seed=0)


def yaw_of(state):
    return math.atan2(state[MILLIROBOT_STATE.index('sin_yaw')],
                      state[MILLIROBOT_STATE.index('cos_yaw')])


def drive(sim, command, seconds, seed=1):
    """Reset, hold one command, and return the state at the end."""
    return hold_command(sim, command, seconds, seed)[-1]


def test_state_has_the_documented_size_and_names(sim):
    sim.reset(seed=2)
    state = sim.state()
    assert state.shape == (MILLIROBOT_STATE.dim,) == (19,)
    measured = sim.measurements()
    np.testing.assert_array_equal(state[:3], measured.position)
    np.testing.assert_allclose(state[list(MILLIROBOT_STATE.indices('vx', 'vy', 'vz'))],
                               measured.linear_velocity)
    np.testing.assert_allclose(state[list(MILLIROBOT_STATE.indices('left_rate', 'right_rate'))],
                               measured.motor_rates)
    left = measured.motor_angles[0]
    assert state[MILLIROBOT_STATE.index('cos_left')] == pytest.approx(math.cos(left))
    assert measured.orientation_xyzw.shape == (4,)
    assert measured.leg_angles.shape == measured.leg_rates.shape == (6,)
    assert len(MillirobotSim.JOINT_NAMES) == 8
    # Reset leaves the robot at rest on the ground at the origin, heading +x.
    assert np.linalg.norm(state[:2]) < 0.01 and yaw_of(state) == pytest.approx(0, abs=0.02)
    assert sim.time == 0.0


def test_walks_forward_at_a_plausible_speed(sim):
    state = drive(sim, [12.5, 12.5], 3.0)
    speed = state[0] / 3.0
    # Whegs of radius 28 mm at 12.5 rad/s would roll at 0.35 m/s without slip or sag.
    assert 0.1 < speed < 0.5
    assert abs(state[1]) < 0.1 * state[0]
    assert abs(yaw_of(state)) < 0.1
    assert state[MILLIROBOT_STATE.index('vx')] > 0.1    # body frame: forward
    assert state[MILLIROBOT_STATE.index('z')] > 0.015   # on its legs, not its belly


def test_faster_legs_walk_faster(sim):
    slow = drive(sim, [4.0, 4.0], 2.0)
    fast = drive(sim, [20.0, 20.0], 2.0)
    assert fast[0] > 2.0 * slow[0] > 0.0


@pytest.mark.parametrize('command, sign', [([5.0, 18.0], 1.0), ([18.0, 5.0], -1.0)])
def test_turns_towards_the_slower_side(sim, command, sign):
    # Left slower -> counter-clockwise (positive yaw); right slower -> clockwise.
    # Yaw is unwrapped over 0.1 s samples: the robot turns about 3 rad in 2 s.
    yaw = np.unwrap([yaw_of(state) for state in hold_command(sim, command, 2.0)])
    assert sign * yaw[-1] > 1.0
    assert np.all(sign * np.diff(yaw) > -0.05)


def test_same_seed_and_commands_give_identical_trajectories():
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    runs = []
    for rng in (rng_a, rng_b):
        sim = MillirobotSim('turf,payload_kg=0.01', seed=9)
        trace = []
        for _ in range(20):
            sim.set_command(rng.uniform(0.0, MAX_LEG_RATE, size=2))
            sim.step(0.1)
            trace.append(sim.state())
        runs.append(np.array(trace))
    np.testing.assert_array_equal(runs[0], runs[1])
    # A different reset seed draws a different leg phase, hence another trajectory.
    other = MillirobotSim('turf,payload_kg=0.01', seed=10)
    assert not np.array_equal(other.state(), runs[0][0])


def test_reset_with_a_seed_repeats_exactly(sim):
    first = drive(sim, [10.0, 14.0], 1.0, seed=3)
    second = drive(sim, [10.0, 14.0], 1.0, seed=3)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize('bad', [[1.0], [1.0, 2.0, 3.0], [[1.0, 2.0]], [math.nan, 1.0],
                                 [1.0, math.inf], [-math.inf, 0.0]])
def test_bad_commands_are_rejected(sim, bad):
    with pytest.raises(ValueError):
        sim.set_command(bad)


def test_commands_are_clipped_to_the_bounds(sim):
    sim.set_command([-3.0, 40.0])
    np.testing.assert_array_equal(sim.command, [0.0, MAX_LEG_RATE])
    np.testing.assert_array_equal(sim.motor_setpoints, [0.0, MAX_LEG_RATE])


def test_step_durations_add_up(sim):
    sim.reset(seed=1)
    for _ in range(10):
        sim.step(0.1)
    assert sim.time == pytest.approx(1.0, abs=1e-9)
    # 1 ms steps carry over: four of them make one 4 ms physics step.
    steps = [sim.step(0.001) for _ in range(8)]
    assert sum(steps) == 2 and sim.time == pytest.approx(1.008, abs=1e-9)
    with pytest.raises(ValueError):
        sim.step(0.0)


@pytest.mark.parametrize('condition', ['carpet', 'turf', 'styrofoam,slope_deg=12,payload_kg=0.03',
                                       'novel_terrain,leg_missing=4', 'payload,slope_deg=8'])
def test_random_commands_for_a_minute_neither_flip_nor_explode(condition):
    sim = MillirobotSim(condition, seed=11)
    rng = np.random.default_rng(12)
    worst_tilt = 0.0
    for step in range(600):
        if step % 5 == 0:
            sim.set_command(rng.uniform(0.0, MAX_LEG_RATE, size=2))
        sim.step(0.1)
        state = sim.state()
        tilt = np.abs(state[list(MILLIROBOT_STATE.indices('roll', 'pitch'))])
        worst_tilt = max(worst_tilt, *tilt)
    assert worst_tilt < 0.8
    assert sim.time == pytest.approx(60.0)
