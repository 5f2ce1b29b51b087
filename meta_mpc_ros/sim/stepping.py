"""
What the MuJoCo simulators share: their clock, and advancing by any duration.

`SteppedSimulator` is the base of sim.MillirobotSim and sim.DiffDriveSim. A subclass
sets `model` and `data`, `NAME` (for errors) and `_carry = 0.0`, and writes
`_physics(steps)`, which takes the physics steps (its driver may act between them).
"""

import math

import mujoco
import numpy as np


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
