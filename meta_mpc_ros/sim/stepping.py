"""
What the MuJoCo simulators share: their clock, and advancing by any duration.

`SteppedSimulator` is the base of sim.MillirobotSim, sim.DiffDriveSim and the legged
robots' sim.legged.node_sim simulators; `Measurements` is what the last two publish. A subclass
sets `model` and `data`, `NAME` (for errors) and `_carry = 0.0`, and writes
`_physics(steps)`, which takes the physics steps (its driver may act between them).
"""

from dataclasses import dataclass
import math

import mujoco
import numpy as np


@dataclass(frozen=True)
class Measurements:
    """
    What a robot's drivers publish: /odom and /joint_states.

    Arrays: position (3,) m and orientation_xyzw (4,) in odom; linear_velocity (3,) m/s
    and angular_velocity (3,) rad/s in base_link; joint_positions and joint_velocities
    of the simulator's JOINT_NAMES; time in s.
    """

    time: float
    position: np.ndarray
    orientation_xyzw: np.ndarray
    linear_velocity: np.ndarray
    angular_velocity: np.ndarray
    joint_positions: np.ndarray
    joint_velocities: np.ndarray


class SteppedSimulator:
    """A MuJoCo simulation advanced by durations, checked for instability."""

    NAME = 'simulation'

    @property
    def physics_timestep(self):
        """Return the physics step, s."""
        return float(self.model.opt.timestep)

    @property
    def time(self):
        """Return the simulated time since the last reset, s."""
        return float(self.data.time)

    def step(self, duration_s):
        """
        Advance the physics by `duration_s`.

        Durations that are not whole physics steps are carried over, so that many calls
        add up to the right total time.

        :param duration_s: time to simulate, s (> 0).
        :return: number of physics steps taken.
        :raises RuntimeError: if the simulation became unstable.
        """
        if not duration_s > 0.0 or not math.isfinite(duration_s):
            raise ValueError(f'duration must be positive and finite, got {duration_s}')
        self._carry += duration_s
        steps = int(math.floor(self._carry / self.physics_timestep + 1e-6))
        self._carry -= steps * self.physics_timestep
        self._advance(steps)
        return steps

    def _advance(self, steps):
        """Take physics steps (`_physics`) and check that MuJoCo stayed stable."""
        if steps <= 0:
            return
        unstable = int(mujoco.mjtWarning.mjWARN_BADQACC)
        before = self.data.warning[unstable].number
        self._physics(steps)
        if (self.data.warning[unstable].number != before
                or not np.all(np.isfinite(self.data.qpos))):
            raise RuntimeError(f'{self.NAME} simulation unstable at t={self.time:.3f} s '
                               f'under {self.condition}')
