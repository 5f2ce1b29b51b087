"""The millirobot's URDF and the MuJoCo scene built from it."""

import xml.etree.ElementTree as ElementTree

from meta_mpc_ros.robots.millirobot import MAX_LEG_RATE, MOTOR_JOINTS
from meta_mpc_ros.sim import millirobot_model as mm
from meta_mpc_ros.sim.conditions import LEG_NAMES, PRESETS
from meta_mpc_ros.sim.millirobot_sim import MillirobotSim
import mujoco
import numpy as np
import pytest


@pytest.fixture(scope='module')
def sim():
    return MillirobotSim('carpet', seed=0)


def test_urdf_is_a_valid_tree_for_robot_state_publisher():
    root = ElementTree.parse(mm.default_urdf_path()).getroot()
    assert root.tag == 'robot'
    links = {link.get('name'): link for link in root.findall('link')}
    joints = {joint.get('name'): joint for joint in root.findall('joint')}
    assert set(MOTOR_JOINTS) | set(mm.LEG_JOINTS) == set(joints)
    children = [joint.find('child').get('link') for joint in joints.values()]
    parents = {joint.find('parent').get('link') for joint in joints.values()}
    # A tree: every link but the root is the child of exactly one joint.
    assert sorted(children) == sorted(set(links) - {'base_link'})
    assert parents <= set(links)
    for name, link in links.items():
        mass = float(link.find('inertial/mass').get('value'))
        assert mass > 0.0, name
        assert link.find('visual/geometry') is not None, name
    for joint in joints.values():
        assert joint.get('type') == 'continuous'
        assert joint.find('axis').get('xyz') == '0 1 0'
    for leg, joint_name in zip(LEG_NAMES, mm.LEG_JOINTS):
        mimic = joints[joint_name].find('mimic')
        assert mimic.get('joint') == f'{leg.split("_")[0]}_motor'
        assert float(mimic.get('multiplier')) == 1.0
    total = sum(float(link.find('inertial/mass').get('value')) for link in links.values())
    # 30 g body + 2 x 0.5 g cranks + 6 x 1 g whegs = 37 g.
    assert total == pytest.approx(0.037)


def test_scene_holds_what_the_spec_step_adds(sim):
    model, layout = sim.model, sim.layout
    assert model.jnt_type[0] == mujoco.mjtJoint.mjJNT_FREE
    assert model.opt.integrator == mujoco.mjtIntegrator.mjINT_IMPLICIT
    assert model.nu == 2 and model.neq == len(LEG_NAMES)
    for actuator in layout.actuators:
        # Velocity servo: force = kv * ctrl - kv * qvel, limited to the stall torque.
        assert model.actuator_gainprm[actuator, 0] == mm.MOTOR_KV
        assert model.actuator_biasprm[actuator, 2] == -mm.MOTOR_KV
        assert tuple(model.actuator_ctrlrange[actuator]) == (0.0, MAX_LEG_RATE)
        assert model.actuator_forcelimited[actuator]
    for eq in range(model.neq):
        assert model.eq_type[eq] == mujoco.mjtEq.mjEQ_JOINT
        leg = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, model.eq_obj1id[eq])
        motor = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, model.eq_obj2id[eq])
        assert motor == f'{leg.split("_")[0]}_motor'
        np.testing.assert_array_equal(model.eq_data[eq, :5], [0, 1, 0, 0, 0])
    assert model.hfield_nrow[0] == mm.TERRAIN_CELLS
    assert model.geom_type[layout.floor_geom] == mujoco.mjtGeom.mjGEOM_PLANE


def _collide(model, a, b):
    """Return whether MuJoCo's contype/conaffinity test lets two geoms collide."""
    return bool(model.geom_contype[a] & model.geom_conaffinity[b]
                or model.geom_contype[b] & model.geom_conaffinity[a])


def test_feet_touch_the_ground_not_each_other_and_the_ground_wins(sim):
    model, layout = sim.model, sim.layout
    feet = [g for leg in layout.leg_collision_geoms for g in leg]
    assert len(feet) == 3 * len(LEG_NAMES)
    assert not any(_collide(model, a, b) for a in feet for b in feet if a != b)
    assert all(_collide(model, foot, layout.floor_geom) for foot in feet)
    robot = np.flatnonzero(model.geom_bodyid > 0)
    assert model.geom_priority[layout.floor_geom] > model.geom_priority[robot].max()
    assert model.geom_priority[layout.terrain_geom] > model.geom_priority[robot].max()


@pytest.mark.parametrize('condition', list(PRESETS))
def test_scene_steps_one_second_without_warnings(condition):
    sim = MillirobotSim(condition, seed=1)
    sim.set_command([12.5, 15.0])
    sim.step(1.0)
    assert [w.number for w in sim.data.warning] == [0] * len(sim.data.warning)
    assert np.all(np.isfinite(sim.data.qpos))


def test_legs_follow_their_side_and_tripods_alternate(sim):
    sim.reset(seed=4)
    sim.set_command([8.0, 20.0])
    sim.step(1.0)
    measured = sim.measurements()
    for leg, angle in zip(LEG_NAMES, measured.leg_angles):
        motor = measured.motor_angles[MOTOR_JOINTS.index(f'{leg.split("_")[0]}_motor')]
        assert angle == pytest.approx(motor, abs=0.05), leg
    # At crank angle 0, tripod {left_front, left_rear, right_middle} points a spoke
    # straight down (feet at -SPOKE_LENGTH), the other tripod is a half pitch (60 deg)
    # away: its lowest feet are at -SPOKE_LENGTH * cos(60 deg).
    model, data = sim.model, mujoco.MjData(sim.model)
    mujoco.mj_kinematics(model, data)
    lowest = {leg: min(data.geom_xpos[g, 2] for g in sim.layout.leg_collision_geoms[i])
              - data.xpos[sim.layout.base_body, 2] for i, leg in enumerate(LEG_NAMES)}
    for leg in ('left_front', 'left_rear', 'right_middle'):
        assert lowest[leg] == pytest.approx(-mm.SPOKE_LENGTH, abs=1e-9)
    for leg in ('right_front', 'right_rear', 'left_middle'):
        assert lowest[leg] == pytest.approx(-0.5 * mm.SPOKE_LENGTH, abs=1e-9)
