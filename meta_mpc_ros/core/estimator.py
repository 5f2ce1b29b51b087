"""
State estimation at the control rate from asynchronous measurements (no ROS here).

The state-estimator node and offline training from bags run this same class, so a
live run and a replayed bag give the same vectors. Sampling is driven by the
measurements' own stamps, not by the receiver's clock:

- samples lie on the grid of control periods of the measurements' clock (cells
  [k dt, (k+1) dt)), so a live node and a bag replay that starts later sample the
  same stamps: an odometry message with stamp tau is sampled if it is the first one
  in a new cell, as soon as a joint reading stamped at or after tau has also arrived
  (so arrival order between the two topics does not matter; a robot that reads no
  joints is sampled on odometry alone);
- the state uses that odometry and the newest joint reading stamped at or before tau;
- the sample closes the previous transition with the command in effect between the
  two samples: the time-weighted average of the piecewise-constant commands over
  [tau_prev, tau] (commands are stamped when received, and clipped to the action box
  as the robot clips them);
- a stamp more than `stale_timeout_s` before the last sample (the clock went back)
  restarts the window there, so no stamp from the future can block sampling;
- with `applied_commands` (a robot, or the lockstep simulator, that reports each
  command stamped when it applied it), a sample also waits until the command applied
  since the previous sample is in: the transition is then exactly the one the robot
  made, whatever order the topics arrive in.

Call `try_sample()` after every measurement; `check(now)` reports staleness.
"""

from dataclasses import dataclass
import math
from typing import Protocol

from meta_mpc_ros.core.buffer import TransitionBuffer
from meta_mpc_ros.core.spaces import ActionSpec, StateSpec
import numpy as np


class StateBuilder(Protocol):
    """
    What the estimator needs of a robot: its vectors and how its state is built.

    A robot description (meta_mpc_ros.robots) is one. `build_state` is a pure function
    of the measurements: base position (3,) and orientation quaternion xyzw (4,) in
    odom, linear and angular velocity (3,) each in base_link, and the positions and
    velocities (J,) of the robot's measured joints; it returns the (state.dim,) state
    and raises ValueError for measurements it cannot use. `joints` names the measured
    joints; a robot with none (a base read from /odom alone) is sampled on odometry.
    """

    state: StateSpec
    action: ActionSpec
    joints: tuple

    def build_state(self, position, orientation_xyzw, linear_velocity, angular_velocity,
                    joint_positions, joint_velocities):
        """Return the (nx,) float64 state of one set of measurements."""


@dataclass
class Sample:
    """
    One estimator output: the state at `stamp` and, once M+1 exist, the window.

    `closed_action` is the action of the transition this sample closes (from the
    previous sample to this one); None for the first sample after a (re)start.
    """

    stamp: float
    state: np.ndarray
    window_states: np.ndarray = None
    window_actions: np.ndarray = None
    closed_action: np.ndarray = None


class CommandHistory:
    """Piecewise-constant commands by stamp; integrates them over time intervals."""

    def __init__(self, action_dim, keep_seconds=5.0):
        self.action_dim = action_dim
        self.keep_seconds = keep_seconds
        self.events = []   # (stamp, command), sorted by stamp

    def add(self, stamp, command):
        """Record that `command` took effect at `stamp` (s)."""
        command = np.asarray(command, dtype=np.float64)
        if command.shape != (self.action_dim,) or not np.isfinite(command).all():
            raise ValueError(f'bad command {command}')
        index = len(self.events)
        while index and self.events[index - 1][0] > stamp:
            index -= 1
        self.events.insert(index, (float(stamp), command))
        horizon = self.events[-1][0] - self.keep_seconds
        while len(self.events) > 1 and self.events[1][0] <= horizon:
            self.events.pop(0)

    def forget_after(self, stamp):
        """Drop commands stamped after `stamp` (the clock went back past them)."""
        self.events = [event for event in self.events if event[0] <= stamp]

    def at(self, stamp):
        """Return the command in effect at `stamp` (zeros before the first one)."""
        current = np.zeros(self.action_dim)
        for event_stamp, command in self.events:
            if event_stamp > stamp:
                break
            current = command
        return current

    def latest_stamp(self):
        """Return the stamp of the newest command, or None before the first."""
        return self.events[-1][0] if self.events else None

    def average(self, start, end):
        """Return the time-weighted mean command over [start, end] (at `end` if empty)."""
        if not end > start:
            return self.at(end).copy()
        if not any(start < stamp < end for stamp, _ in self.events):
            return self.at(start).copy()    # one command throughout: exactly it
        total = np.zeros(self.action_dim)
        time, current = start, self.at(start)
        for event_stamp, command in self.events:
            if event_stamp <= start:
                continue
            if event_stamp >= end:
                break
            total += current * (event_stamp - time)
            time, current = event_stamp, command
        total += current * (end - time)
        return total / (end - start)


class StateEstimator:
    """
    A robot's state at the control rate, plus the transition window for adaptation.

    :param robot: StateBuilder (a robot description): the state and action vectors and
        how the state is built from the measurements.
    :param control_dt: the control period, s.
    :param window: M, transitions per adaptation window.
    :param stale_timeout_s: odometry older than this (relative to `now`) is stale.
    :param applied_commands: commands are stamped by the robot when applied (not on
        receipt); a sample waits for the command applied since the previous sample.
    """

    # Two stamps closer than this (s) are the same instant (float round trips).
    SAME_STAMP_S = 1e-6

    def __init__(self, robot, control_dt=0.1, window=16, stale_timeout_s=0.5,
                 applied_commands=False):
        if not control_dt > 0.0 or window < 1 or not stale_timeout_s > 0.0:
            raise ValueError('need control_dt > 0, window >= 1, stale_timeout_s > 0')
        self.control_dt = control_dt
        self.window = window
        self.stale_timeout_s = stale_timeout_s
        self.applied_commands = applied_commands
        self.robot = robot
        self.action = robot.action
        self.buffer = TransitionBuffer(window + 2, robot.state.dim, robot.action.dim)
        self.commands = CommandHistory(robot.action.dim)
        self.odometry = None       # (stamp, position, orientation, linear, angular)
        self.joints = []           # [(stamp, angles, rates)], newest last
        self.needs_joints = bool(robot.joints)
        self._no_joints = (0.0, np.zeros(0), np.zeros(0))
        self.last_stamp = None
        self.last_cell = None      # grid cell of the last sample

    def on_odometry(self, stamp, position, orientation_xyzw, linear_velocity,
                    angular_velocity):
        """Record a base odometry measurement (odom frame pose, base_link twist)."""
        self.odometry = (float(stamp), position, orientation_xyzw, linear_velocity,
                         angular_velocity)

    def on_joints(self, stamp, positions, velocities):
        """Record the measured joints' positions and velocities (the robot's joint order)."""
        self.joints.append((float(stamp), np.asarray(positions, dtype=np.float64),
                            np.asarray(velocities, dtype=np.float64)))
        if len(self.joints) > 64:
            del self.joints[:-64]

    def on_command(self, stamp, command):
        """
        Record a command applied from `stamp` on, clipped to the action box.

        The robot applies a clipped command, so the transition it drives must record
        the clipped one: an out-of-range command would teach adaptation an action the
        robot never took.

        :raises ValueError: for a command of the wrong size or not finite.
        """
        command = np.asarray(command, dtype=np.float64)
        if command.shape != (self.action.dim,) or not np.isfinite(command).all():
            raise ValueError(f'bad command {command}')
        self.commands.add(stamp, np.clip(command, self.action.low, self.action.high))

    def status(self, now):
        """Return 'ok', 'waiting' (no data yet) or 'stale' at time `now` (s)."""
        if self.odometry is None or (self.needs_joints and not self.joints):
            return 'waiting'
        if now - self.odometry[0] > self.stale_timeout_s:
            return 'stale'
        return 'ok'

    def check(self, now):
        """Return status(now), forgetting the window if stale (no transition spans a gap)."""
        status = self.status(now)
        if status == 'stale' and len(self.buffer):
            self.reset()
        return status

    def reset(self):
        """Forget the window (after a gap: transitions across it would be wrong)."""
        self.buffer.clear()
        self.last_stamp = None
        self.last_cell = None

    def try_sample(self):
        """
        Sample the newest odometry if it is due and its joint reading is in.

        :return: Sample, or None when nothing is due yet.
        """
        if self.odometry is None or (self.needs_joints and not self.joints):
            return None
        stamp, position, orientation, linear, angular = self.odometry
        if self.last_stamp is not None and abs(stamp - self.last_stamp) > self.stale_timeout_s:
            # A gap, or the clock went back (a restarted simulator, a replay, or a
            # sample stamped far ahead): start again from here instead of waiting
            # for time to catch up with the last sample.
            if stamp < self.last_stamp:
                self.commands.forget_after(stamp)
            self.reset()
        cell = math.floor(stamp / self.control_dt + 1e-6)
        if self.last_cell is not None and cell <= self.last_cell:
            return None
        if self.needs_joints and self.joints[-1][0] < stamp:
            return None
        if self.applied_commands and self.last_stamp is not None and (
                self.commands.latest_stamp() is None
                or self.commands.latest_stamp() < self.last_stamp - self.SAME_STAMP_S):
            return None     # the command applied since the last sample is not in yet
        joint = next((j for j in reversed(self.joints) if j[0] <= stamp),
                     self.joints[0]) if self.needs_joints else self._no_joints
        state = self.robot.build_state(position, orientation, linear, angular, joint[1],
                                       joint[2])
        closed_action = None
        if self.last_stamp is not None:
            closed_action = self.commands.average(self.last_stamp, stamp)
            self.buffer.set_last_action(closed_action)
        self.buffer.append(state, self.commands.at(stamp))
        self.last_stamp, self.last_cell = stamp, cell
        result = Sample(stamp, state, closed_action=closed_action)
        if len(self.buffer) >= self.window + 1:
            result.window_states, result.window_actions = self.buffer.window(self.window)
        return result

    def recent_window(self):
        """Return the last min(M, available) transitions: (states, actions), 0 to M long."""
        return self.buffer.window(min(len(self.buffer) - 1, self.window))
