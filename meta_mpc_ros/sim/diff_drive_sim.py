"""
A differential-drive base in MuJoCo (TurtleBot3-sized), driven by a velocity command.

Two wheels on hinges, each behind a motor velocity loop, and a frictionless rear
caster, on a plane. The base takes (linear.x, angular.z) commands as a base's
driver does (ros2_control's diff_drive_controller): it clips them to the robot's
bounds, ramps them at its acceleration limits (core.command_limits, every physics
step), turns them into wheel-rate setpoints with its nominal wheel radius and
separation, and clips each wheel to MAX_WHEEL_RATE (so at full speed it turns slower
than asked). The motors follow their setpoints through a first-order lag
(MOTOR_LAG_S) and a velocity loop of gain MOTOR_GAIN with a torque limit, so the
commanded velocity is reached late, and the wheels slip where the floor gives less
grip than they push. Odometry is the base's true pose and velocity (as a motion
capture or Gazebo's ground-truth plugin gives it), velocities in base_link.

Each reset puts the base down as a hand does, within PLACEMENT_M of the odom origin
and PLACEMENT_YAW_RAD of +x, drawn from the reset seed: an episode seed gives a
start of its own (the millirobot's seed draws its crank phase).

The world condition (sim.diff_drive_conditions) can change at any time without
rebuilding the model.
"""

import math

from meta_mpc_ros.core.command_limits import CommandLimiter
from meta_mpc_ros.robots.diff_drive import DIFF_DRIVE, WHEEL_RADIUS, WHEEL_SEPARATION
from meta_mpc_ros.sim.diff_drive_conditions import parse_condition
from meta_mpc_ros.sim.stepping import Measurements as SensedQuantities, SteppedSimulator
import mujoco
import numpy as np

MAX_WHEEL_RATE = 12.0       # rad/s, 0.40 m/s at the rim
MOTOR_GAIN = 0.03           # N m per rad/s of wheel-rate error
MOTOR_TORQUE = 0.4          # N m, each motor's limit
MOTOR_LAG_S = 0.04          # s, the setpoint's first-order lag (the motor's current loop)
BASE_MASS = 0.9             # kg, chassis with battery and boards
WHEEL_MASS = 0.05           # kg each
DEFAULT_PHYSICS_TIMESTEP = 0.004
# After a reset the base settles this long at rest; time then restarts at 0.
SETTLE_TIME = 0.2
PLACEMENT_M = 0.005         # largest start offset in x and in y
PLACEMENT_YAW_RAD = math.radians(1.0)   # largest start heading
JOINT_NAMES = ('wheel_left_joint', 'wheel_right_joint')

_MODEL = f"""
<mujoco model="diff_drive">
  <option timestep="{{timestep}}" integrator="implicitfast"/>
  <default>
    <default class="visual"><geom contype="0" conaffinity="0" group="2"/></default>
    <default class="wheel"><geom type="sphere" size="{WHEEL_RADIUS}" mass="{WHEEL_MASS}"
      condim="3" group="3" rgba="0.1 0.1 0.1 1"/></default>
  </default>
  <worldbody>
    <light pos="0 0 3" dir="0 0 -1" directional="true"/>
    <geom name="floor" type="plane" size="20 20 0.1" priority="1" rgba="0.55 0.5 0.45 1"/>
    <body name="base_link" pos="0 0 {WHEEL_RADIUS}">
      <freejoint name="base"/>
      <geom name="chassis" type="cylinder" size="0.07 0.05" pos="-0.032 0 0.05"
        mass="{BASE_MASS}" contype="0" conaffinity="0" rgba="0.2 0.2 0.25 1"/>
      <geom name="caster" type="sphere" size="0.008" pos="-0.08 0 {0.008 - WHEEL_RADIUS}"
        mass="0.005" condim="1" priority="2"/>
      <body name="wheel_left_link" pos="0 {WHEEL_SEPARATION / 2} 0">
        <joint name="{JOINT_NAMES[0]}" type="hinge" axis="0 1 0"/>
        <geom name="wheel_left" class="wheel"/>
        <geom class="visual" type="cylinder" size="{WHEEL_RADIUS} 0.009" euler="1.5708 0 0"/>
      </body>
      <body name="wheel_right_link" pos="0 {-WHEEL_SEPARATION / 2} 0">
        <joint name="{JOINT_NAMES[1]}" type="hinge" axis="0 1 0"/>
        <geom name="wheel_right" class="wheel"/>
        <geom class="visual" type="cylinder" size="{WHEEL_RADIUS} 0.009" euler="1.5708 0 0"/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <general name="left_motor" joint="{JOINT_NAMES[0]}" dyntype="filter"
      dynprm="{MOTOR_LAG_S}" gainprm="{MOTOR_GAIN}" biastype="affine"
      biasprm="0 0 {-MOTOR_GAIN}" forcelimited="true" forcerange="{-MOTOR_TORQUE} {MOTOR_TORQUE}"/>
    <general name="right_motor" joint="{JOINT_NAMES[1]}" dyntype="filter"
      dynprm="{MOTOR_LAG_S}" gainprm="{MOTOR_GAIN}" biastype="affine"
      biasprm="0 0 {-MOTOR_GAIN}" forcelimited="true" forcerange="{-MOTOR_TORQUE} {MOTOR_TORQUE}"/>
  </actuator>
</mujoco>
"""


def build_model(physics_timestep=DEFAULT_PHYSICS_TIMESTEP):
    """Return the compiled MjModel of the base on its floor."""
    return mujoco.MjModel.from_xml_string(_MODEL.format(timestep=physics_timestep))


class Measurements(SensedQuantities):
    """What a base's driver publishes: /odom and the wheels' /joint_states (2 joints)."""

    def state(self):
        """Return the (6,) state vector of DIFF_DRIVE's description (from /odom alone)."""
        return DIFF_DRIVE.build_state(self.position, self.orientation_xyzw,
                                      self.linear_velocity, self.angular_velocity, (), ())


def validate_command(twist):
    """
    Check a (linear.x, angular.z) command and clip it to the action bounds.

    :raises ValueError: on a wrong size or a non-finite entry.
    """
    command = np.asarray(twist, dtype=np.float64)
    if command.shape != (DIFF_DRIVE.action.dim,) or not np.all(np.isfinite(command)):
        raise ValueError(f'a diff_drive command is {DIFF_DRIVE.action.dim} finite values '
                         f'{DIFF_DRIVE.action.names}, got {command.tolist()}')
    return np.clip(command, DIFF_DRIVE.action.low, DIFF_DRIVE.action.high)


class DiffDriveSim(SteppedSimulator):
    """
    The base in MuJoCo under a world condition that can change at run time.

    The same seed, condition and command sequence give a bit-identical trajectory
    (the seed draws only the start pose).
    """

    JOINT_NAMES = JOINT_NAMES
    NAME = 'diff_drive'
    parse_condition = staticmethod(parse_condition)
    validate_command = staticmethod(validate_command)

    def __init__(self, condition='carpet', physics_timestep=DEFAULT_PHYSICS_TIMESTEP, seed=0):
        self.model = build_model(physics_timestep)
        self.data = mujoco.MjData(self.model)
        named = self.model.geom
        self._floor = named('floor').id
        self._wheels = (named('wheel_left').id, named('wheel_right').id)
        self._base = self.model.body('base_link').id
        self._free_dof = self.model.joint('base').dofadr[0]
        self._wheel_dofs = [self.model.joint(name).dofadr[0] for name in JOINT_NAMES]
        self._wheel_qpos = [self.model.joint(name).qposadr[0] for name in JOINT_NAMES]
        self._original = {name: getattr(self.model, name).copy()
                          for name in ('geom_friction', 'geom_size', 'body_mass',
                                       'dof_frictionloss')}
        self._gravity = float(np.linalg.norm(self.model.opt.gravity))
        action = DIFF_DRIVE.action
        self._limiter = CommandLimiter(action.low, action.high, DIFF_DRIVE.acceleration_limits)
        self._command = np.zeros(action.dim)
        self._carry = 0.0
        self.set_condition(condition)
        self._rng = np.random.default_rng(seed)
        self.reset(seed)

    @property
    def condition(self):
        """Return the active condition's canonical spec string."""
        return self._condition.to_spec()

    @property
    def command(self):
        """Return the last (linear.x, angular.z) asked for, clipped to the bounds."""
        return self._command.copy()

    @property
    def applied(self):
        """Return the command the driver executes now (after its acceleration ramp)."""
        return self._limiter.last.copy()

    def set_condition(self, condition):
        """
        Change the world now, keeping the base's state.

        :param condition: spec string (sim.diff_drive_conditions) or DriveCondition.
        :raises ValueError: on a malformed condition; the active one is then kept.
        """
        condition = parse_condition(condition)
        model = self.model
        for name, value in self._original.items():
            getattr(model, name)[...] = value
        model.geom_friction[self._floor, 0] = condition.friction
        for geom, scale in zip(self._wheels, (condition.tyre_scale_left,
                                              condition.tyre_scale_right)):
            model.geom_size[geom, 0] = WHEEL_RADIUS * scale
        model.body_mass[self._base] += condition.payload_kg
        model.dof_frictionloss[self._wheel_dofs] = condition.rolling_resistance
        slope, direction = math.radians(condition.slope_deg), \
            math.radians(condition.slope_dir_deg)
        # Gravity in the slope's frame: down the slope by sin, into it by cos.
        model.opt.gravity[:] = self._gravity * np.array([
            -math.sin(slope) * math.cos(direction), -math.sin(slope) * math.sin(direction),
            -math.cos(slope)])
        self._condition = condition

    def reset(self, seed=None):
        """
        Put the base at rest near the odom origin, heading near +x, motors stopped.

        :param seed: optional int to reseed the generator of the start pose (see the
            module docstring); without one the simulator's generator draws on.
        :return: Measurements after settling.
        """
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        x, y = self._rng.uniform(-PLACEMENT_M, PLACEMENT_M, size=2)
        yaw = float(self._rng.uniform(-PLACEMENT_YAW_RAD, PLACEMENT_YAW_RAD))
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[0:2] = x, y
        self.data.qpos[3:7] = math.cos(yaw / 2.0), 0.0, 0.0, math.sin(yaw / 2.0)
        self._command = np.zeros(DIFF_DRIVE.action.dim)
        self._limiter.reset()
        self._carry = 0.0
        mujoco.mj_forward(self.model, self.data)
        self._advance(int(round(SETTLE_TIME / self.physics_timestep)))
        self.data.time = 0.0
        return self.measurements()

    def set_command(self, twist):
        """
        Set the (linear.x m/s, angular.z rad/s) command held until the next one.

        :raises ValueError: on a wrong size or a non-finite entry.
        """
        self._command = validate_command(twist)

    def _drive(self):
        """Ramp the command one physics step and set the wheels' setpoints."""
        linear, angular = self._limiter(self._command, self.physics_timestep)
        half = 0.5 * WHEEL_SEPARATION * angular
        bias = (self._condition.motor_bias_left, self._condition.motor_bias_right)
        rates = np.array([linear - half, linear + half]) / WHEEL_RADIUS + bias
        self.data.ctrl[:] = np.clip(rates, -MAX_WHEEL_RATE, MAX_WHEEL_RATE)

    def _physics(self, steps):
        """Take physics steps, the driver updating the wheels' setpoints before each."""
        for _ in range(steps):
            self._drive()
            mujoco.mj_step(self.model, self.data)

    def measurements(self):
        """Return the sensed quantities (see Measurements)."""
        data = self.data
        w, x, y, z = data.qpos[3:7]
        rotation = data.xmat[self._base].reshape(3, 3)
        dof = self._free_dof
        return Measurements(
            time=self.time, position=data.qpos[0:3].copy(),
            orientation_xyzw=np.array([x, y, z, w]),
            linear_velocity=rotation.T @ data.qvel[dof:dof + 3],
            angular_velocity=data.qvel[dof + 3:dof + 6].copy(),
            joint_positions=data.qpos[self._wheel_qpos].copy(),
            joint_velocities=data.qvel[self._wheel_dofs].copy())

    def state(self):
        """Return the (6,) state vector of the current measurements."""
        return self.measurements().state()

    def close(self):
        """Nothing to free (no renderer); kept for the simulators' interface."""
