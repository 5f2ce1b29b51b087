"""
The millirobot's state and action vectors, defined once.

The simulator, the state-estimator node and offline training from bags all build
states with `millirobot_state`.

The real VelociRoACH state (Nagabandi et al., 2018/2019) is 24-dimensional: centre of
mass position, linear and angular velocity, orientation as sin/cos of the three Euler
angles, and per side the motor encoder angle (sin/cos) and velocity, plus extras from
the on-board IMU. We mirror all of it except that roll and pitch are kept as angles
(they stay small on a legged base) and the IMU's raw accelerations are left out; the
result has 19 entries (see MILLIROBOT_STATE).

Frames follow REP-103/105: position and yaw in `odom`, velocities in `base_link`.
"""

import math

from meta_mpc_ros.core.spaces import ActionSpec, StateSpec
import numpy as np

MILLIROBOT_STATE = StateSpec(
    names=('x', 'y', 'z', 'roll', 'pitch', 'cos_yaw', 'sin_yaw',
           'vx', 'vy', 'vz', 'wx', 'wy', 'wz',
           'cos_left', 'sin_left', 'cos_right', 'sin_right',
           'left_rate', 'right_rate'),
    units=('m', 'm', 'm', 'rad', 'rad', '1', '1',
           'm/s', 'm/s', 'm/s', 'rad/s', 'rad/s', 'rad/s',
           '1', '1', '1', '1',
           'rad/s', 'rad/s'),
    model_input_excluded=('x', 'y', 'z'),
)

# Leg-rate setpoints per side (crank angular velocity); zero stops the legs.
MAX_LEG_RATE = 25.0
MILLIROBOT_ACTION = ActionSpec(
    names=('left_leg_rate', 'right_leg_rate'),
    units=('rad/s', 'rad/s'),
    low=(0.0, 0.0),
    high=(MAX_LEG_RATE, MAX_LEG_RATE),
)

# Joint names of the two actuated cranks, as published on /joint_states.
MOTOR_JOINTS = ('left_motor', 'right_motor')


def roll_pitch_yaw(quaternion_xyzw):
    """Return (roll, pitch, yaw) in rad (ZYX convention) of a unit quaternion (x, y, z, w)."""
    x, y, z, w = (float(v) for v in quaternion_xyzw)
    norm = math.sqrt(x * x + y * y + z * z + w * w)
    if not norm > 0.0 or not math.isfinite(norm):
        raise ValueError(f'invalid orientation quaternion {quaternion_xyzw}')
    x, y, z, w = x / norm, y / norm, z / norm, w / norm
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x))))
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return roll, pitch, yaw


def millirobot_state(position, orientation_xyzw, linear_velocity, angular_velocity,
                     motor_angles, motor_rates):
    """
    Assemble the state vector from measurements.

    :param position: (3,) base position in odom, m.
    :param orientation_xyzw: (4,) base orientation quaternion in odom.
    :param linear_velocity: (3,) base linear velocity in base_link, m/s.
    :param angular_velocity: (3,) base angular velocity in base_link, rad/s.
    :param motor_angles: (2,) left and right crank angles, rad.
    :param motor_rates: (2,) left and right crank angular velocities, rad/s.
    :return: (19,) float64 array ordered as MILLIROBOT_STATE.names.
    """
    roll, pitch, yaw = roll_pitch_yaw(orientation_xyzw)
    left, right = (float(a) for a in motor_angles)
    state = np.concatenate([
        np.asarray(position, dtype=np.float64).reshape(3),
        [roll, pitch, math.cos(yaw), math.sin(yaw)],
        np.asarray(linear_velocity, dtype=np.float64).reshape(3),
        np.asarray(angular_velocity, dtype=np.float64).reshape(3),
        [math.cos(left), math.sin(left), math.cos(right), math.sin(right)],
        np.asarray(motor_rates, dtype=np.float64).reshape(2),
    ])
    if not np.all(np.isfinite(state)):
        raise ValueError(f'non-finite millirobot state {state}')
    return state
