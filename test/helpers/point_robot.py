"""
A robot that is not ours, described in the test folder: a differential-drive base.

CONTRIBUTING's "A new robot" recipe, followed to the letter: this module describes the
robot and registers it; a process finds it through META_MPC_ROBOTS=point_robot (with
test/helpers on PYTHONPATH). Its learning config (controller, cost, tasks) is
point_robot.yaml beside it. point_robot_driver.py plays the robot on /odom,
/joint_states and /cmd (sim:=none); point_robot_sim.py is its simulator under sim_node,
which its description names. No file of the package names it.

Two wheels of radius WHEEL_RADIUS, TRACK apart, take wheel-rate commands (rad/s); the
state is the planar pose (yaw as cos/sin), the base's forward speed and turn rate, and
the two wheel rates: 8 entries.
"""

import pathlib

from meta_mpc_ros.core.spaces import ActionSpec
from meta_mpc_ros.robots import register_robot, ROBOTS
from meta_mpc_ros.robots.description import RobotDescription, SimDescription
from meta_mpc_ros.robots.state import PLANAR_POSE, StateTerm

NAME = 'point_robot'
WHEELS = ('left_wheel', 'right_wheel')
WHEEL_RADIUS = 0.05      # m
TRACK = 0.2              # m between the wheels
MAX_WHEEL_RATE = 10.0    # rad/s

POINT_ROBOT = RobotDescription(
    name=NAME,
    summary='A differential-drive base (test/helpers/point_robot.py), wheel rates in rad/s.',
    state_terms=PLANAR_POSE + (
        StateTerm('vx', 'linear_velocity', 'x', 'm/s'),
        StateTerm('wz', 'angular_velocity', 'z', 'rad/s'),
        StateTerm('left_rate', 'joint_velocity', 'left_wheel', 'rad/s'),
        StateTerm('right_rate', 'joint_velocity', 'right_wheel', 'rad/s'),
    ),
    joints=WHEELS,
    model_input_excluded=('x', 'y'),
    action=ActionSpec(names=('left_wheel_rate', 'right_wheel_rate'), units=('rad/s', 'rad/s'),
                      low=(-MAX_WHEEL_RATE, -MAX_WHEEL_RATE),
                      high=(MAX_WHEEL_RATE, MAX_WHEEL_RATE)),
    config=str(pathlib.Path(__file__).with_name('point_robot.yaml')),
    tasks=('straight',),
    sim=SimDescription(simulator='point_robot_sim:PointRobotSim', default_condition='nominal',
                       demo_condition='left_wheel_scale=0.5',
                       conditions='test/helpers/point_robot_sim.py'),
)

if NAME not in ROBOTS:
    register_robot(POINT_ROBOT)
