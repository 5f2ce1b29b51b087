"""
Velocity and acceleration limits of a command, as a base's driver enforces them.

A mobile base's driver (ros2_control's differential-drive controller, nav2's
velocity smoother) clips each commanded velocity to its bounds and lets it change by at most
its acceleration limit times the time since the last command. `CommandLimiter` does
the same: the controller node clips what it publishes with it, and the simulated base
clips what it receives, so that the command the model learns from is the command
the robot executes.
"""

import numpy as np


class CommandLimiter:
    """
    Clip commands (nu,) to [low, high] and their rate of change to the acceleration limits.

    The first command (and the first after `reset`) changes from the robot at rest,
    a zero command.

    :param low: (nu,) lower bounds (an ActionSpec's).
    :param high: (nu,) upper bounds.
    :param acceleration: (nu,) largest change per second of each entry (> 0), or ()
        for no acceleration limit.
    """

    def __init__(self, low, high, acceleration=()):
        self.low = np.asarray(low, dtype=np.float64)
        self.high = np.asarray(high, dtype=np.float64)
        self.acceleration = np.asarray(acceleration, dtype=np.float64) if len(acceleration) \
            else None
        if self.acceleration is not None and (self.acceleration.shape != self.low.shape or
                                              not np.all(self.acceleration > 0.0)):
            raise ValueError(f'acceleration limits {tuple(acceleration)} must be '
                             f'{self.low.size} positive values')
        self.last = np.zeros_like(self.low)

    def reset(self, command=None):
        """Start again from `command` (default: at rest, zero)."""
        self.last = np.zeros_like(self.low) if command is None else \
            np.clip(np.asarray(command, dtype=np.float64), self.low, self.high)

    def __call__(self, command, elapsed_s):
        """
        Return the command the robot may take `elapsed_s` after the previous one.

        :param command: (nu,) finite command.
        :param elapsed_s: time since the previous command, s (negative counts as 0).
        :return: (nu,) float64: clipped to the bounds, then to last +- acceleration *
            elapsed_s; it becomes the previous command.
        :raises ValueError: for a wrong size or a non-finite entry.
        """
        command = np.asarray(command, dtype=np.float64)
        if command.shape != self.low.shape or not np.all(np.isfinite(command)):
            raise ValueError(f'a command needs {self.low.size} finite values, got {command}')
        limited = np.clip(command, self.low, self.high)
        if self.acceleration is not None:
            step = self.acceleration * max(float(elapsed_s), 0.0)
            limited = np.clip(limited, self.last - step, self.last + step)
        self.last = limited
        return limited.copy()
