"""Each legged task condition changes the dynamics versus the nominal model, as physics says."""

from meta_mpc_ros.sim.legged import (AntCrippledLegEnv, HalfCheetahDisabledJointEnv,
                                     HalfCheetahHillsEnv, HalfCheetahPierEnv, PierDamping)
import mujoco
import numpy as np
import pytest

# An open-loop sinusoidal gait, a_j = sin(2 pi f t + phase_j), found by a seeded random
# search: it carries the cheetah about 3 m forward in 3 s on flat ground, so it reaches
# the terrain features (which start at x = 1 m).
GAIT_FREQUENCY = 2.271212328911342
GAIT_PHASES = np.array([3.68, 0.77, 5.87, 4.3, 5.18, 5.63])
# Smallest state change we call "measurable" after the stated horizon.
MARGIN = 0.05


def gait(env, seconds):
    """Return the (T, 6) open-loop gait actions for `seconds` of control."""
    times = np.arange(int(round(seconds / env.control_dt)))[:, None] * env.control_dt
    return np.sin(2 * np.pi * GAIT_FREQUENCY * times + GAIT_PHASES)


def random_actions(env, seconds, seed=0):
    """Return uniform random actions within bounds for `seconds` of control."""
    rng = np.random.default_rng(seed)
    steps = int(round(seconds / env.control_dt))
    return rng.uniform(-1.0, 1.0, size=(steps, env.model.nu))


def rollout(env, actions, condition, seed=0, probe=None):
    """Run open-loop actions under a condition; return states (T+1, n) and probes (T, ...)."""
    state, _ = env.reset(seed=seed, options={'condition': condition})
    states, probes = [state], []
    for action in actions:
        states.append(env.step(action)[0])
        if probe is not None:
            probes.append(probe(env))
    return np.array(states), np.array(probes)


@pytest.mark.parametrize('joint', range(6))
def test_a_disabled_joint_gets_no_torque_and_changes_the_motion(joint):
    env = HalfCheetahDisabledJointEnv()
    actions = random_actions(env, 1.0, seed=joint)
    dof = env.model.jnt_dofadr[env.model.actuator_trnid[joint, 0]]

    def torques(env):
        return env.data.actuator_force[joint], env.data.qfrc_actuator[dof]

    nominal, nominal_torques = rollout(env, actions, 'nominal', probe=torques)
    disabled, disabled_torques = rollout(env, actions, f'disabled_joint={joint}', probe=torques)
    # Random actions in [-1, 1] through a gear of at least 30 N m: clearly non-zero.
    assert np.abs(nominal_torques).max() > 10.0
    assert np.all(disabled_torques == 0.0)
    assert np.abs(disabled - nominal).max() > MARGIN
    assert disabled.shape == nominal.shape


def climb(env, condition, seconds=4.0):
    """Run the gait over a terrain; return the final x and the lowest torso height (m)."""
    states, _ = rollout(env, gait(env, seconds), condition)
    x = states[:, env.state_spec.index('torso_com_x')]
    z = states[:, env.state_spec.index('torso_com_z')]
    return x[-1], z.min(), states


def test_uphill_terrains_slow_the_cheetah_and_the_basin_lowers_it():
    env = HalfCheetahHillsEnv()
    flat_x, flat_z, flat = climb(env, 'nominal')
    # On flat ground the gait covers more than 3 m in 4 s and the torso stays up.
    assert flat_x > 3.0 and flat_z > 0.2
    # Climbing takes work the same gait cannot spend on speed. The hill rises 0.6 m over
    # 3 m (slope 0.2) and the steep ramp 4 m over 18 m (0.22): at least 1 m lost in 4 s;
    # the gentle ramp rises 1 m over 18 m (0.056): at least 0.3 m lost, and less than on
    # the steep ramp of the same shape.
    distance = {name: climb(env, f'terrain={name}')[0] for name in ('hill', 'gentle', 'steep')}
    assert distance['hill'] < flat_x - 1.0 and distance['steep'] < flat_x - 1.0
    assert distance['steep'] < distance['gentle'] < flat_x - 0.3
    basin_x, basin_z, _ = climb(env, 'terrain=basin')
    # The basin floor is 0.55 m below the start; the cheetah walks down into it.
    assert basin_x > 2.5 and basin_z < -0.2
    _, _, random_terrain = climb(env, 'terrain_seed=4')
    assert np.abs(random_terrain - flat).max() > MARGIN


def test_the_terrain_the_cheetah_meets_is_where_ground_height_says():
    env = HalfCheetahHillsEnv(condition='terrain=hill')
    env.reset(seed=0)
    for x in (0.0, 2.5, 4.0, 5.5, 9.0):
        # Cast a ray down at y = 0.5 m (beside the planar cheetah) onto the heightfield.
        top = 5.0
        hit = np.zeros(1, np.int32)
        distance = mujoco.mj_ray(env.model, env.data, np.array([x, 0.5, top]),
                                 np.array([0.0, 0.0, -1.0]), None, 1, -1, hit)
        assert hit[0] == env.model.geom('floor').id
        assert top - distance == pytest.approx(env.ground_height(x), abs=1e-5)
    # Hill: flat up to x = 1 m (column 249), then 15 columns of 0.2004 m up to the 0.6 m
    # peak at x = 1 + 15 * 0.2004 = 4.006 m, and 15 columns down to 0 at 7.012 m.
    assert env.ground_height(1.0) == 0.0 and env.ground_height(7.02) == 0.0
    assert env.ground_height(4.006) == pytest.approx(0.6, abs=1e-3)
    assert env.ground_height(2.503) == pytest.approx(0.3, abs=1e-3)


def test_pier_damping_damps_the_blocks_and_changes_the_cheetah():
    env = HalfCheetahPierEnv()
    dofs = env.block_dofs
    actions = gait(env, 3.0)

    def block_velocities(env):
        return env.data.qvel[dofs].copy()

    nominal, nominal_v = rollout(env, actions, 'nominal', probe=block_velocities)
    test_condition = HalfCheetahPierEnv.TEST_CONDITIONS[0]
    damped, damped_v = rollout(env, actions, test_condition, probe=block_velocities)
    np.testing.assert_array_equal(env.model.dof_damping[dofs], PierDamping(0).dampings())
    # Block 7 (x from 22 m) is never touched: it only bobs from its release at q = 0 to
    # its rest 0.09 m lower. Its damping under seed 0 is 7.29 N s/m against 0.01
    # nominally; with mass + armature m = 1.48 kg the amplitude decays at
    # a = c / (2 m) = 2.46 /s, so its RMS velocity over T = 3 s drops by
    # sqrt((1 - exp(-2 a T)) / (2 a T)) = 0.26 (soft joint limits aside): below half.
    rms = np.sqrt(np.mean(damped_v ** 2, axis=0)) / np.sqrt(np.mean(nominal_v ** 2, axis=0))
    assert PierDamping(0).dampings()[7] > 7.0
    assert rms[7] < 0.5
    # Every block with damping above 5 N s/m that the cheetah does not reach is calmer.
    assert np.all(rms[PierDamping(0).dampings() > 5.0] < 0.75)
    assert np.abs(damped - nominal).max() > MARGIN


# Direction of each leg from the torso in the torso frame (official leg k: hip_{k+1}).
LEG_DIRECTIONS = np.array([[1, 1, 0], [-1, 1, 0], [-1, -1, 0], [1, -1, 0]]) / np.sqrt(2)


@pytest.mark.parametrize('leg', range(4))
def test_a_crippled_ant_leg_gives_way_and_changes_the_gait(leg):
    env = AntCrippledLegEnv()
    standing = np.zeros((50, 8))

    def side_heights(env):
        # World z of the unit direction towards each leg: negative where the torso dips.
        return env.data.xmat[env.model.body('torso').id].reshape(3, 3) @ LEG_DIRECTIONS.T

    _, nominal_sides = rollout(env, standing, 'nominal', probe=side_heights)
    _, crippled_sides = rollout(env, standing, f'crippled_leg={leg}', probe=side_heights)
    # After 1 s standing still the torso tilts towards the shortened, unpowered leg: that
    # side is the lowest, and lower than nominally by more than 0.03 (a tilt of 1.7 deg).
    final = crippled_sides[-1][2]
    assert final.argmin() == leg
    assert final[leg] < nominal_sides[-1][2][leg] - 0.03
    # The leg's hip and ankle actuators (official mask) produce no force.
    actions = random_actions(env, 1.0, seed=leg)
    crippled, forces = rollout(env, actions, f'crippled_leg={leg}',
                               probe=lambda env: env.data.actuator_force.copy())
    off = env.action_mask == 0.0
    assert [env.model.actuator(i).trnid[0] for i in np.flatnonzero(off)] == [
        env.model.joint(f'{part}_{leg + 1}').id for part in ('hip', 'ankle')]
    # (Motor force is the control itself, torque = gear 150 * force; random controls in
    # [-1, 1] on the other six actuators exceed 0.5 somewhere in 50 steps.)
    assert np.all(forces[:, off] == 0.0) and np.abs(forces[:, ~off]).max() > 0.5
    nominal, _ = rollout(env, actions, 'nominal')
    com = list(env.state_spec.indices('torso_com_x', 'torso_com_y'))
    displacement = np.linalg.norm((crippled[-1] - nominal[-1])[com])
    assert displacement > MARGIN
