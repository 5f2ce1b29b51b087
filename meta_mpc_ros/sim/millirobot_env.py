"""
The millirobot's trajectory-following tasks as a gymnasium environment.

Each step holds one leg-rate command for one control period (10 Hz by default) and
scores it with the task cost of core.reference (`PathTracker.step_cost`); the reward is
minus that cost, exactly what `cost_terms()` tells the planner. The world condition can
be changed between steps, as the paper's test conditions are. sim.path_env has the
task logic every path-following robot shares.
"""

from meta_mpc_ros.robots.millirobot import MILLIROBOT, MILLIROBOT_STATE
from meta_mpc_ros.sim import conditions
from meta_mpc_ros.sim import millirobot_model as mm
from meta_mpc_ros.sim.millirobot_sim import MillirobotSim
from meta_mpc_ros.sim.path_env import DEFAULT_TASK_SCALES, EPISODE_SPEED, PathTaskEnv

__all__ = ('DEFAULT_TASK_SCALES', 'EPISODE_SPEED', 'FALLEN_TILT', 'MillirobotEnv')

# Tilt beyond which the robot counts as fallen over and the episode ends, rad.
FALLEN_TILT = 1.2


class MillirobotEnv(PathTaskEnv):
    """
    Follow a reference path (straight, left_turn, zigzag, figure8) with the millirobot.

    Observations are MILLIROBOT_STATE vectors, actions MILLIROBOT_ACTION leg rates.
    `step` returns reward = -cost and info with cost, distance, heading_error,
    progress, index, time and condition; the episode terminates at the end of the path
    or when the robot falls over, and is truncated after `episode_steps`.
    """

    robot = MILLIROBOT
    simulator = MillirobotSim
    default_physics_timestep = mm.DEFAULT_PHYSICS_TIMESTEP
    TRAINING_CONDITIONS = conditions.TRAINING_CONDITIONS
    TEST_CONDITIONS = conditions.TEST_CONDITIONS
    parse_condition = staticmethod(conditions.parse_condition)
    sample_training_condition = staticmethod(conditions.sample_training_condition)

    def fallen(self, state):
        """Return whether roll or pitch exceed FALLEN_TILT."""
        return max(abs(state[MILLIROBOT_STATE.index('roll')]),
                   abs(state[MILLIROBOT_STATE.index('pitch')])) > FALLEN_TILT
