"""
The differential-drive base's trajectory-following tasks as a gymnasium environment.

The tasks and their cost are sim.path_env's; the base (sim.diff_drive_sim) holds each
(linear.x, angular.z) command for one control period (10 Hz), under the world
conditions of sim.diff_drive_conditions.
"""

from meta_mpc_ros.robots.diff_drive import DIFF_DRIVE
from meta_mpc_ros.sim import diff_drive_conditions as conditions
from meta_mpc_ros.sim.diff_drive_sim import DEFAULT_PHYSICS_TIMESTEP, DiffDriveSim
from meta_mpc_ros.sim.path_env import PathTaskEnv


class DiffDriveEnv(PathTaskEnv):
    """Follow a reference path with the differential-drive base (DIFF_DRIVE)."""

    robot = DIFF_DRIVE
    simulator = DiffDriveSim
    default_physics_timestep = DEFAULT_PHYSICS_TIMESTEP
    TRAINING_CONDITIONS = conditions.TRAINING_CONDITIONS
    TEST_CONDITIONS = conditions.TEST_CONDITIONS
    parse_condition = staticmethod(conditions.parse_condition)
    sample_training_condition = staticmethod(conditions.sample_training_condition)
