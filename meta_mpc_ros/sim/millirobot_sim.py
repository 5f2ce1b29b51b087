"""
The simulated millirobot, without gymnasium.

One class for the ROS sim node, data collection and evaluation alike:
`MillirobotSim` takes leg-rate commands, advances MuJoCo by any duration and reports
what the real robot's sensors give (see `Measurements`). Its world condition can be
changed at any time without rebuilding the model.
"""

from dataclasses import dataclass
import math

from meta_mpc_ros.robots.millirobot import (MAX_LEG_RATE, MILLIROBOT, MILLIROBOT_ACTION,
                                            MOTOR_JOINTS)
from meta_mpc_ros.sim import millirobot_model as mm
from meta_mpc_ros.sim.conditions import parse_condition
from meta_mpc_ros.sim.stepping import SteppedSimulator
from meta_mpc_ros.sim.world import miscalibrate, World
import mujoco
import numpy as np

# After a reset the robot is dropped from just above the ground and settles this long
# with its motors stopped, so that every episode starts at rest; time then restarts at 0.
SETTLE_TIME = 0.2
DROP_CLEARANCE = 0.0005


@dataclass(frozen=True)
class Measurements:
    """
    What the sim node publishes: the real VelociRoACH's sensed quantities.

    The real robot's 24-D state comes from motion capture (pose), the IMU (angular
    velocity) and the motor encoders; we mirror the pose, the body-frame linear and
    angular velocities and both motors' angles and rates, as MILLIROBOT_STATE lists,
    and add the leg joint angles that /joint_states carries for rviz.

    Arrays: position (3,) m and orientation_xyzw (4,) in odom; linear_velocity (3,)
    m/s and angular_velocity (3,) rad/s in base_link; motor_angles (2,) rad and
    motor_rates (2,) rad/s, left then right; leg_angles (6,) rad and leg_rates (6,)
    rad/s in LEG_JOINTS order; time in s.
    """

    time: float
    position: np.ndarray
    orientation_xyzw: np.ndarray
    linear_velocity: np.ndarray
    angular_velocity: np.ndarray
    motor_angles: np.ndarray
    motor_rates: np.ndarray
    leg_angles: np.ndarray
    leg_rates: np.ndarray

    @property
    def joint_positions(self):
        """Return the angles of MillirobotSim.JOINT_NAMES (motors, then legs), rad."""
        return np.concatenate([self.motor_angles, self.leg_angles])

    @property
    def joint_velocities(self):
        """Return the rates of MillirobotSim.JOINT_NAMES (motors, then legs), rad/s."""
        return np.concatenate([self.motor_rates, self.leg_rates])

    def state(self):
        """Return the (19,) state vector, ordered as MILLIROBOT_STATE."""
        return MILLIROBOT.build_state(self.position, self.orientation_xyzw,
                                      self.linear_velocity, self.angular_velocity,
                                      self.motor_angles, self.motor_rates)


def validate_command(leg_rates):
    """
    Check a leg-rate command and clip it to the action bounds.

    :param leg_rates: (2,) left and right leg rates, rad/s.
    :return: (2,) float64 array within [0, MAX_LEG_RATE].
    :raises ValueError: on a wrong size or a non-finite entry.
    """
    command = np.asarray(leg_rates, dtype=np.float64)
    if command.shape != (MILLIROBOT_ACTION.dim,):
        raise ValueError(f'a millirobot command has {MILLIROBOT_ACTION.dim} entries '
                         f'{MILLIROBOT_ACTION.names}, got shape {command.shape}')
    if not np.all(np.isfinite(command)):
        raise ValueError(f'non-finite millirobot command {command}')
    return np.clip(command, MILLIROBOT_ACTION.low, MILLIROBOT_ACTION.high)


class MillirobotSim(SteppedSimulator):
    """
    The millirobot in MuJoCo, under a world condition that can change at run time.

    Same seed, condition and command sequence give a bit-identical trajectory.
    """

    JOINT_NAMES = MOTOR_JOINTS + mm.LEG_JOINTS
    NAME = 'millirobot'
    parse_condition = staticmethod(parse_condition)
    validate_command = staticmethod(validate_command)

    def __init__(self, condition='carpet', physics_timestep=mm.DEFAULT_PHYSICS_TIMESTEP,
                 seed=0, urdf_path=None):
        """
        Build the model and reset.

        :param condition: spec string or Condition (see conditions.py).
        :param physics_timestep: physics step, s (4 ms by default).
        :param seed: seed of the initial leg phase drawn at each reset without a seed.
        :param urdf_path: URDF to load; default: the package's urdf/millirobot.urdf.
        """
        self.model, self.layout = mm.build_model(physics_timestep, urdf_path)
        self.data = mujoco.MjData(self.model)
        self._world = World(self.model, self.layout)
        self._rng = np.random.default_rng(seed)
        self._command = np.zeros(MILLIROBOT_ACTION.dim)
        self._carry = 0.0
        self._renderer = None
        self.set_condition(condition)
        self.reset(seed)

    @property
    def condition(self):
        """Return the active condition's canonical spec string."""
        return self._world.condition.to_spec()

    @property
    def world(self):
        """Return the World that applies conditions to the model."""
        return self._world

    @property
    def command(self):
        """Return the last leg rates asked for, (2,) rad/s, before miscalibration."""
        return self._command.copy()

    @property
    def motor_setpoints(self):
        """Return the rates the motors are driven to (2,), rad/s, after miscalibration."""
        return np.array(self.data.ctrl[list(self.layout.actuators)])

    def set_condition(self, condition):
        """
        Change the world condition now, keeping the robot's state.

        :param condition: condition string (sim.conditions) or Condition.
        :raises ValueError: on a malformed condition; the active one is then kept.
        """
        condition = parse_condition(condition)
        if condition.ground_timeconst < 2.0 * self.physics_timestep:
            raise ValueError(f'ground_timeconst {condition.ground_timeconst} s must be at '
                             f'least twice the physics step {self.physics_timestep} s')
        self._world.apply(condition)
        self._apply_command()

    def reset(self, seed=None):
        """
        Put the robot at rest at the odom origin, heading +x, with its motors stopped.

        The crank phase (the same on both motors, so the tripods still alternate) is
        drawn uniformly over one spoke pitch from the seed, or from the simulator's
        generator when no seed is given.

        :param seed: optional int to reseed the generator.
        :return: Measurements after settling.
        """
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        phase = float(self._rng.uniform(0.0, 2.0 * math.pi / 3.0))
        model, data, layout = self.model, self.data, self.layout
        mujoco.mj_resetData(model, data)
        data.qpos[layout.free_qpos:layout.free_qpos + 7] = [0, 0, 0, 1, 0, 0, 0]
        data.qpos[list(layout.motor_qpos + layout.leg_qpos)] = phase
        mujoco.mj_kinematics(model, data)
        feet = [g for leg in layout.leg_collision_geoms for g in leg]
        lowest = float(np.min(data.geom_xpos[feet, 2] - model.geom_size[feet, 0]))
        ground = self._world.ground_height(0.0, 0.0, radius=0.1)
        data.qpos[layout.free_qpos + 2] = ground - lowest + DROP_CLEARANCE
        self._command = np.zeros(MILLIROBOT_ACTION.dim)
        self._carry = 0.0
        self._apply_command()
        mujoco.mj_forward(model, data)
        self._advance(int(round(SETTLE_TIME / self.physics_timestep)))
        data.time = 0.0
        return self.measurements()

    def set_command(self, leg_rates):
        """
        Set the leg-rate command held until the next one.

        :param leg_rates: (2,) left and right leg rates, rad/s; clipped to
            [0, MAX_LEG_RATE]. The condition's miscalibration is applied on top.
        :raises ValueError: on a wrong size or a non-finite entry.
        """
        self._command = validate_command(leg_rates)
        self._apply_command()

    def _apply_command(self):
        """Drive the motors to the miscalibrated command."""
        rates = miscalibrate(self._world.condition, self._command)
        self.data.ctrl[list(self.layout.actuators)] = np.clip(rates, 0.0, MAX_LEG_RATE)

    def _physics(self, steps):
        """Take physics steps with the motors' setpoints held."""
        mujoco.mj_step(self.model, self.data, nstep=steps)

    def measurements(self):
        """Return the sensed quantities (see Measurements)."""
        data, layout = self.data, self.layout
        free = layout.free_qpos
        w, x, y, z = data.qpos[free + 3:free + 7]
        rotation = data.xmat[layout.base_body].reshape(3, 3)
        dof = layout.free_dof
        return Measurements(
            time=self.time,
            position=data.qpos[free:free + 3].copy(),
            orientation_xyzw=np.array([x, y, z, w]),
            linear_velocity=rotation.T @ data.qvel[dof:dof + 3],
            angular_velocity=data.qvel[dof + 3:dof + 6].copy(),
            motor_angles=data.qpos[list(layout.motor_qpos)].copy(),
            motor_rates=data.qvel[list(layout.motor_dof)].copy(),
            leg_angles=data.qpos[list(layout.leg_qpos)].copy(),
            leg_rates=data.qvel[list(layout.leg_dof)].copy(),
        )

    def state(self):
        """Return the (19,) state vector (MILLIROBOT_STATE) of the current measurements."""
        return self.measurements().state()

    def render(self, width=640, height=480, camera='track', path=None):
        """
        Render an RGB frame offscreen (set MUJOCO_GL=egl when headless).

        :param width: image width, px.
        :param height: image height, px.
        :param camera: 'track' (follows the robot from behind and above) or 'top'.
        :param path: optional (P, 2) reference path points to draw on the ground.
        :return: (height, width, 3) uint8 array.
        """
        from meta_mpc_ros.sim.render import SceneRenderer
        if self._renderer is None or self._renderer.size != (height, width):
            self.close()
            self._renderer = SceneRenderer(self.model, self._world, height, width)
        return self._renderer.render(self.data, self.layout.base_body, camera, path)

    def close(self):
        """Free the renderer, if any."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
