"""
The simulator of test/helpers/point_robot.py's base, under sim_node: a user's own.

The point robot's description names this class (SimDescription.simulator
'point_robot_sim:PointRobotSim'), so that sim_node simulates it without a file of the
package naming it. A MuJoCo model of a planar base (x and y slides, a yaw hinge) with
two wheel hinges, driven kinematically: at every physics step the base's velocities are
the unicycle's of the wheel rates, and MuJoCo integrates them. Its one world condition
is a worn left wheel, `left_wheel_scale=S` (the wheel turns at S times its command);
`nominal` is S = 1.
"""

import math

from meta_mpc_ros.sim.stepping import Measurements, SteppedSimulator
import mujoco
import numpy as np
from point_robot import POINT_ROBOT, TRACK, WHEEL_RADIUS

MJCF = """
<mujoco model="point_robot">
  <option timestep="0.004" gravity="0 0 0"/>
  <worldbody>
    <body name="base_link">
      <joint name="x" type="slide" axis="1 0 0"/>
      <joint name="y" type="slide" axis="0 1 0"/>
      <joint name="yaw" type="hinge" axis="0 0 1"/>
      <geom type="box" size="0.1 0.08 0.03" mass="1" contype="0" conaffinity="0"/>
      <body name="left" pos="0 0.1 0">
        <joint name="left_wheel" type="hinge" axis="0 1 0"/>
        <geom type="cylinder" size="0.05 0.01" euler="90 0 0" mass="0.1" contype="0"
              conaffinity="0"/>
      </body>
      <body name="right" pos="0 -0.1 0">
        <joint name="right_wheel" type="hinge" axis="0 1 0"/>
        <geom type="cylinder" size="0.05 0.01" euler="90 0 0" mass="0.1" contype="0"
              conaffinity="0"/>
      </body>
    </body>
  </worldbody>
</mujoco>
"""
KEY = 'left_wheel_scale'


class PointRobotSim(SteppedSimulator):
    """The point robot in MuJoCo, under a condition that can change at run time."""

    NAME = 'point_robot'
    JOINT_NAMES = tuple(POINT_ROBOT.joints)

    @staticmethod
    def parse_condition(spec):
        """Return the left wheel's scale of a spec ('nominal' or 'left_wheel_scale=S')."""
        text = str(spec).strip()
        if text in ('', 'nominal'):
            return 1.0
        key, _, value = text.partition('=')
        try:
            scale = float(value)
        except ValueError:
            scale = math.nan
        if key.strip() != KEY or not 0.0 < scale <= 2.0:
            raise ValueError(f"a point_robot condition is 'nominal' or '{KEY}=S' with S in "
                             f'(0, 2], not {spec!r}')
        return scale

    @classmethod
    def validate_command(cls, command):
        """Return the wheel rates clipped to the bounds (ValueError on a bad command)."""
        command = np.asarray(command, dtype=np.float64)
        if command.shape != (2,) or not np.all(np.isfinite(command)):
            raise ValueError(f'a point_robot command is 2 finite wheel rates, got {command}')
        return np.clip(command, POINT_ROBOT.action.low, POINT_ROBOT.action.high)

    def __init__(self, condition='nominal', physics_timestep=0.004, seed=0):
        self.model = mujoco.MjModel.from_xml_string(MJCF)
        self.model.opt.timestep = physics_timestep
        self.data = mujoco.MjData(self.model)
        self._command = np.zeros(2)
        self._twist = (0.0, 0.0)       # forward speed, m/s, and turn rate, rad/s
        self._carry = 0.0
        self.set_condition(condition)

    @property
    def condition(self):
        """Return the active condition's spec."""
        return 'nominal' if self._scale == 1.0 else f'{KEY}={self._scale:g}'

    @property
    def command(self):
        """Return the wheel rates commanded."""
        return self._command.copy()

    def set_condition(self, condition):
        """Change the world now (ValueError on a bad spec)."""
        self._scale = self.parse_condition(condition)

    def set_command(self, command):
        """Hold the wheel rates until the next command."""
        self._command = self.validate_command(command)

    def _physics(self, steps):
        """Set the unicycle's velocities of the wheel rates and integrate, step by step."""
        rates = self._command * np.array([self._scale, 1.0])
        speed = WHEEL_RADIUS * rates.mean()
        turn = WHEEL_RADIUS * (rates[1] - rates[0]) / TRACK
        self._twist = (speed, turn)
        for _ in range(steps):
            yaw = self.data.qpos[2]
            self.data.qvel[:] = [speed * math.cos(yaw), speed * math.sin(yaw), turn, *rates]
            mujoco.mj_step(self.model, self.data)

    def measurements(self):
        """Return /odom's and /joint_states' quantities."""
        x, y, yaw = self.data.qpos[:3]
        speed, turn = self._twist
        return Measurements(
            time=self.time, position=np.array([x, y, 0.0]),
            orientation_xyzw=np.array([0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0)]),
            linear_velocity=np.array([speed, 0.0, 0.0]),
            angular_velocity=np.array([0.0, 0.0, turn]),
            joint_positions=self.data.qpos[3:5].copy(),
            joint_velocities=self.data.qvel[3:5].copy())

    def close(self):
        """Nothing to release."""
