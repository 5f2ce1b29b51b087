"""
Legged benchmarks of the paper on MuJoCo: half-cheetah and ant tasks.

`LEGGED_ENVS` maps a family name to its gymnasium environment class. Every class has
`TEST_CONDITIONS`, `TRAINING_CONDITIONS` (None where the training tasks are a
continuous distribution), `sample_training_condition(rng)` and `parse_condition(spec)`.
"""

from meta_mpc_ros.sim.legged.ant import AntCrippledLegEnv, AntEnv
from meta_mpc_ros.sim.legged.conditions import CrippledLeg, DisabledJoint, PierDamping, Terrain
from meta_mpc_ros.sim.legged.env_base import LeggedEnv
from meta_mpc_ros.sim.legged.half_cheetah import (HalfCheetahDisabledJointEnv,
                                                  HalfCheetahHillsEnv, HalfCheetahPierEnv)

LEGGED_ENVS = {
    'half_cheetah_disabled_joint': HalfCheetahDisabledJointEnv,
    'half_cheetah_hills': HalfCheetahHillsEnv,
    'half_cheetah_pier': HalfCheetahPierEnv,
    'ant_crippled_leg': AntCrippledLegEnv,
    # The ant robot of the graph (robots.ant): the crippled-leg family observing what
    # /odom and /joint_states carry.
    'ant': AntEnv,
}

__all__ = ['LEGGED_ENVS', 'LeggedEnv', 'HalfCheetahDisabledJointEnv', 'HalfCheetahHillsEnv',
           'HalfCheetahPierEnv', 'AntCrippledLegEnv', 'AntEnv', 'DisabledJoint', 'Terrain',
           'PierDamping', 'CrippledLeg']
