"""Robot descriptions: state terms, the registry, and users' robots found by name."""

import os
import subprocess
import sys

from meta_mpc_ros.core.spaces import ActionSpec
from meta_mpc_ros.robots import register_robot, robot_description, ROBOTS
from meta_mpc_ros.robots.description import RobotDescription
from meta_mpc_ros.robots.millirobot import MILLIROBOT
from meta_mpc_ros.robots.state import StateLayout, StateTerm
import numpy as np
import pytest

WHEELS = ActionSpec(('left', 'right'), ('rad/s', 'rad/s'), (-1.0, -1.0), (1.0, 1.0))


def test_terms_become_entries_in_order_with_angles_as_cos_and_sin():
    layout = StateLayout((StateTerm('x', 'position', 'x', 'm'),
                          StateTerm('pitch', 'orientation', 'pitch', 'rad', cos_sin=True),
                          StateTerm('knee', 'joint_position', 'knee', 'rad'),
                          StateTerm('hip_rate', 'joint_velocity', 'hip', 'rad/s')),
                         joints=('hip', 'knee'), model_input_excluded=('x',))
    assert layout.spec.names == ('x', 'cos_pitch', 'sin_pitch', 'knee', 'hip_rate')
    assert layout.spec.units == ('m', '1', '1', 'rad', 'rad/s')
    # Pitched by 30 degrees about y: the quaternion (0, sin 15deg, 0, cos 15deg).
    half = np.radians(15.0)
    state = layout.build([2.0, 0.0, 0.0], [0.0, np.sin(half), 0.0, np.cos(half)], [0.0] * 3,
                         [0.0] * 3, [0.1, 0.7], [3.0, 4.0])
    np.testing.assert_allclose(state, [2.0, np.cos(2 * half), np.sin(2 * half), 0.7, 3.0],
                               atol=1e-12)


@pytest.mark.parametrize('build, match', [
    (lambda: StateTerm('a', 'position', 'yaw', 'm'), "position has no component 'yaw'"),
    (lambda: StateTerm('a', 'pressure', 'x', 'Pa'), "source 'pressure' is not one of"),
    (lambda: StateLayout((StateTerm('a', 'joint_position', 'ankle', 'rad'),), ('hip',)),
     r"name joints \['ankle'\] that are not among \('hip',\)"),
])
def test_a_malformed_state_is_refused_naming_the_problem(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_measurements_that_make_no_state_are_refused():
    with pytest.raises(ValueError, match='invalid orientation quaternion'):
        MILLIROBOT.build_state([0.0] * 3, [0.0] * 4, [0.0] * 3, [0.0] * 3, [0.0] * 2,
                               [0.0] * 2)
    with pytest.raises(ValueError, match='non-finite state'):
        MILLIROBOT.build_state([np.nan, 0.0, 0.0], [0, 0, 0, 1], [0.0] * 3, [0.0] * 3,
                               [0.0] * 2, [0.0] * 2)


def test_the_registry_refuses_a_second_robot_of_a_name_and_names_the_known_ones():
    assert robot_description('millirobot') is MILLIROBOT
    with pytest.raises(ValueError, match="unknown robot 'walker'; choose one of"):
        robot_description('walker')
    with pytest.raises(ValueError, match='already registered'):
        register_robot(MILLIROBOT)
    with pytest.raises(ValueError, match=r"pose needs .*; \['y', 'cos_yaw', 'sin_yaw'\] are not"):
        RobotDescription('walker', '', (StateTerm('x', 'position', 'x', 'm'),), (), WHEELS)
    # A robot without a planar pose (a legged robot running forward) shows no plan.
    walker = RobotDescription('walker', '', (StateTerm('x', 'position', 'x', 'm'),), (),
                              WHEELS, pose=())
    assert walker.state.names == ('x',) and 'walker' not in ROBOTS


def test_a_robot_module_named_in_the_environment_registers_in_every_process(tmp_path):
    (tmp_path / 'walker.py').write_text(
        'from meta_mpc_ros.robots import register_robot\n'
        'from meta_mpc_ros.robots.millirobot import MILLIROBOT\n'
        'import dataclasses\n'
        "register_robot(dataclasses.replace(MILLIROBOT, name='walker'))\n")
    env = dict(os.environ, META_MPC_ROBOTS='walker', PYTHONPATH=os.pathsep.join(
        [str(tmp_path), os.environ.get('PYTHONPATH', '')]))
    code = 'from meta_mpc_ros.robots import ROBOTS; print(sorted(ROBOTS))'
    result = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.strip() == str(sorted(set(ROBOTS) | {'walker'})), result.stderr
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            env=dict(env, META_MPC_ROBOTS='no_such_robot'), timeout=120)
    assert "META_MPC_ROBOTS names 'no_such_robot', which is not on PYTHONPATH" in result.stderr
