"""
The millirobot (VelociRoACH): its state, actions, simulator and shipped models.

The real VelociRoACH state (Nagabandi et al., 2018/2019) is 24-dimensional: centre of
mass position, linear and angular velocity, orientation as sin/cos of the three Euler
angles, and per side the motor encoder angle (sin/cos) and velocity, plus extras from
the on-board IMU. We mirror all of it except that roll and pitch are kept as angles
(they stay small on a legged base) and the IMU's raw accelerations are left out; the
result has 19 entries (MILLIROBOT_STATE).

Frames follow REP-103/105: position and yaw in `odom`, velocities in `base_link`.
"""

from meta_mpc_ros.core.reference import TASKS
from meta_mpc_ros.core.spaces import ActionSpec
from meta_mpc_ros.robots.description import RobotDescription, SimDescription
from meta_mpc_ros.robots.state import StateTerm

# Joint names of the two actuated cranks, as published on /joint_states.
MOTOR_JOINTS = ('left_motor', 'right_motor')

# Leg-rate setpoints per side (crank angular velocity); zero stops the legs.
MAX_LEG_RATE = 25.0


def _vector(names, source, unit):
    """Return StateTerms of the x, y, z components of an odometry vector."""
    return tuple(StateTerm(name, source, axis, unit) for name, axis in zip(names, 'xyz'))


MILLIROBOT = RobotDescription(
    name='millirobot',
    summary='A hexapod with two actuated sides (VelociRoACH), leg-rate setpoints at 10 Hz.',
    state_terms=_vector(('x', 'y', 'z'), 'position', 'm') + (
        StateTerm('roll', 'orientation', 'roll', 'rad'),
        StateTerm('pitch', 'orientation', 'pitch', 'rad'),
        StateTerm('yaw', 'orientation', 'yaw', 'rad', cos_sin=True),
    ) + _vector(('vx', 'vy', 'vz'), 'linear_velocity', 'm/s')
    + _vector(('wx', 'wy', 'wz'), 'angular_velocity', 'rad/s') + (
        StateTerm('left', 'joint_position', 'left_motor', 'rad', cos_sin=True),
        StateTerm('right', 'joint_position', 'right_motor', 'rad', cos_sin=True),
        StateTerm('left_rate', 'joint_velocity', 'left_motor', 'rad/s'),
        StateTerm('right_rate', 'joint_velocity', 'right_motor', 'rad/s'),
    ),
    joints=MOTOR_JOINTS,
    model_input_excluded=('x', 'y', 'z'),
    action=ActionSpec(
        names=('left_leg_rate', 'right_leg_rate'),
        units=('rad/s', 'rad/s'),
        low=(0.0, 0.0),
        high=(MAX_LEG_RATE, MAX_LEG_RATE),
    ),
    config='millirobot',
    tasks=tuple(TASKS),
    sim=SimDescription(environment='millirobot',
                       simulator='meta_mpc_ros.sim.millirobot_sim:MillirobotSim',
                       model='urdf/millirobot.urdf',
                       default_condition='carpet', demo_condition='slippery_slope,payload',
                       conditions='sim/conditions.py PRESETS'),
    urdf='urdf/millirobot.urdf',
)

MILLIROBOT_STATE = MILLIROBOT.state
MILLIROBOT_ACTION = MILLIROBOT.action
