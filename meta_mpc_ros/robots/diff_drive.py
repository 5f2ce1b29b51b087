"""
A differential-drive base on /cmd_vel (a TurtleBot-sized wheeled robot).

The most common ROS robot: two driven wheels and a caster, a base driver that takes
geometry_msgs/Twist on /cmd_vel and publishes nav_msgs/Odometry on /odom. The state is
read from /odom alone: the planar pose (x, y, yaw as its cosine and sine) and the
base's forward speed and turn rate in base_link, 6 entries; the model sees all but
x and y, as for the millirobot. The action is the Twist's (linear.x, angular.z).

Its bounds are a TurtleBot 4's (iRobot Create 3 base): 0.31 m/s forward in its safe
mode and 1.9 rad/s of turn; the estimator clips recorded commands to them, as the
base does. The base also limits each wheel, so at full speed it turns slower than
commanded: the dynamics model learns that from the data, the bounds do not say it.

Its commands are also held to acceleration limits (ACCELERATION_LIMITS), which the
controller's commands and the simulated base's driver respect.

Simulated in MuJoCo (sim.diff_drive_sim, a TurtleBot3-sized base: WHEEL_RADIUS,
WHEEL_SEPARATION) under the world conditions of sim.diff_drive_conditions; it also
trains from recordings (`meta-mpc train --robot diff_drive --data BAG --topic
cmd:=/cmd_vel`).
"""

from meta_mpc_ros.core.reference import TASKS
from meta_mpc_ros.core.spaces import ActionSpec
from meta_mpc_ros.robots.description import RobotDescription, SimDescription
from meta_mpc_ros.robots.state import PLANAR_POSE, StateTerm

# A TurtleBot 4 (Create 3 base): top speed in its safe mode and top turn rate.
MAX_SPEED = 0.31        # m/s
MAX_TURN_RATE = 1.9     # rad/s
# How fast the commands may change (a velocity smoother's limits): m/s^2, rad/s^2.
ACCELERATION_LIMITS = (1.0, 4.0)
# The simulated base's wheels (a TurtleBot3's): radius and separation, m.
WHEEL_RADIUS = 0.033
WHEEL_SEPARATION = 0.16

DIFF_DRIVE = RobotDescription(
    name='diff_drive',
    summary='A differential-drive base (TurtleBot-sized) driven by geometry_msgs/Twist on '
            '/cmd_vel, its state from /odom alone; simulated in MuJoCo.',
    state_terms=PLANAR_POSE + (
        StateTerm('vx', 'linear_velocity', 'x', 'm/s'),
        StateTerm('wz', 'angular_velocity', 'z', 'rad/s'),
    ),
    joints=(),
    model_input_excluded=('x', 'y'),
    action=ActionSpec(names=('linear_x', 'angular_z'), units=('m/s', 'rad/s'),
                      low=(-MAX_SPEED, -MAX_TURN_RATE), high=(MAX_SPEED, MAX_TURN_RATE)),
    command='twist',
    config='diff_drive',
    tasks=tuple(TASKS),
    sim=SimDescription(environment='diff_drive',
                       simulator='meta_mpc_ros.sim.diff_drive_sim:DiffDriveSim',
                       default_condition='carpet',
                       demo_condition='wet_floor',
                       conditions='sim/diff_drive_conditions.py PRESETS'),
    control_dt=0.1,
    acceleration_limits=ACCELERATION_LIMITS,
)
