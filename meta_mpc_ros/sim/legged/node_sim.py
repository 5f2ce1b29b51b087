"""
A legged benchmark environment behind sim_node's simulator interface.

sim_node runs a simulator class built as simulator(condition, physics_timestep, seed)
(see ros/sim_node.py). `legged_simulator(environment, robot)` makes one of a legged
environment (sim.legged.LEGGED_ENVS) for a robot's description (robots.ROBOTS): the
environment steps exactly as in-process evaluation steps it (its own model timestep,
one env step per control step, the condition's actuator mask), and its measurements are
what the description builds the state from, so the state estimator's vectors equal the
environment's observations:

- /joint_states: the position and velocity of every joint the description measures
  (for the half-cheetah the planar root's rootx, rootz and rooty too);
- /odom: position = the centre of mass of the torso's subtree (the whole robot),
  orientation = the torso's, velocities = the torso's in its own frame.

The episode starts from the environment's reset with the node's seed (its official
reset noise), at t = 0. The physics timestep is the environment's: sim_node's
`physics_timestep` does not apply to a legged robot.
"""

from meta_mpc_ros.robots.ant import ANT
from meta_mpc_ros.robots.half_cheetah import HALF_CHEETAH
from meta_mpc_ros.sim.legged.ant import AntEnv
from meta_mpc_ros.sim.legged.env_base import LeggedEnv
from meta_mpc_ros.sim.legged.half_cheetah import (HalfCheetahDisabledJointEnv,
                                                  HalfCheetahHillsEnv, HalfCheetahPierEnv)
from meta_mpc_ros.sim.stepping import Measurements, SteppedSimulator
import numpy as np


class LeggedSim(SteppedSimulator):
    """A LeggedEnv stepped by durations under sim_node; subclasses set ENV and ROBOT."""

    ENV = LeggedEnv
    ROBOT = None
    JOINT_NAMES = ()

    @classmethod
    def parse_condition(cls, spec):
        """Parse a condition spec of the environment (ValueError if bad)."""
        return cls.ENV.parse_condition(spec)

    @classmethod
    def validate_command(cls, command):
        """
        Check a command (one value per action entry) and clip it to the bounds.

        :raises ValueError: on a wrong size or a non-finite entry.
        """
        action = cls.ROBOT.action
        command = np.asarray(command, dtype=np.float64)
        if command.shape != (action.dim,) or not np.all(np.isfinite(command)):
            raise ValueError(f'a {cls.ROBOT.name} command is {action.dim} finite values '
                             f'{action.names}, got {command.tolist()}')
        return np.clip(command, action.low, action.high)

    def __init__(self, condition='', physics_timestep=None, seed=0):
        self.env = self.ENV(condition=condition, max_episode_steps=None)
        self.env.reset(seed=int(seed))
        self._qpos, self._dofs = self.env.joint_addresses(self.JOINT_NAMES)
        self._command = np.zeros(self.ROBOT.action.dim)
        self._carry = 0.0
        self.NAME = self.ROBOT.name

    @property
    def model(self):
        """Return the mujoco.MjModel (for the viewer)."""
        return self.env.model

    @property
    def data(self):
        """Return the mujoco.MjData (for the viewer)."""
        return self.env.data

    @property
    def physics_timestep(self):
        """Return the step the simulation advances by: one env step, s."""
        return self.env.control_dt

    @property
    def condition(self):
        """Return the active condition's canonical spec."""
        return self.env.condition

    @property
    def command(self):
        """Return the command held (clipped to the bounds; the condition's mask acts after)."""
        return self._command.copy()

    def set_condition(self, condition):
        """Change the world now, keeping the robot's state (ValueError if malformed)."""
        self.env.set_condition(self.ENV.parse_condition(condition))

    def set_command(self, command):
        """Hold a command until the next one (ValueError on a bad one)."""
        self._command = self.validate_command(command)

    def _physics(self, steps):
        """Take env steps with the command held (SteppedSimulator.step carries the rest)."""
        for _ in range(steps):
            self.env.step(self._command)

    def measurements(self):
        """Return the sensed quantities (see Measurements and LeggedEnv.measurements)."""
        position, orientation, linear, angular, joints, joint_velocities = \
            self.env.measurements(self._qpos, self._dofs)
        return Measurements(time=self.time, position=position, orientation_xyzw=orientation,
                            linear_velocity=linear, angular_velocity=angular,
                            joint_positions=joints, joint_velocities=joint_velocities)

    def state(self):
        """Return the description's state vector of the current measurements."""
        measured = self.measurements()
        return self.ROBOT.build_state(measured.position, measured.orientation_xyzw,
                                      measured.linear_velocity, measured.angular_velocity,
                                      measured.joint_positions, measured.joint_velocities)

    def close(self):
        """Release the environment's renderer."""
        self.env.close()


def legged_simulator(env_class, robot):
    """Return a LeggedSim class for a legged environment class and a RobotDescription."""
    return type(f'{env_class.__name__}Sim', (LeggedSim,), {
        'ENV': env_class, 'ROBOT': robot, 'JOINT_NAMES': tuple(robot.joints),
        '__doc__': f'{robot.name} in {env_class.__name__}, under sim_node.'})


# sim_node's legged simulators, named by the robots' descriptions (SimDescription.simulator).
HalfCheetahSim = legged_simulator(HalfCheetahDisabledJointEnv, HALF_CHEETAH)
HalfCheetahHillsSim = legged_simulator(HalfCheetahHillsEnv, HALF_CHEETAH)
HalfCheetahPierSim = legged_simulator(HalfCheetahPierEnv, HALF_CHEETAH)
AntSim = legged_simulator(AntEnv, ANT)
