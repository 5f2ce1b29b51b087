"""
The paper's ant, a four-legged robot of 8 torque-driven joints, as the graph drives it.

Its state is what a ROS robot of its shape measures, read from /odom and /joint_states:
the centre of mass of the whole ant (the torso's subtree), which /odom carries as its
position (its frame `base_link` sits there, as the half-cheetah's); the torso's
orientation as the cosine and sine of its roll, pitch and yaw (the model never sees an
angle wrap); the torso's linear and angular velocity in its own frame (REP-103/105);
and the position and velocity of the eight leg joints: 31 entries. The model sees all
but the centre of mass's x and y (the dynamics do not depend on where on the flat
floor the ant is).

This is not the benchmark's observation (sim.legged.ant, RESULTS section 3: the free
joint's quaternion, its world-frame velocity and the torso's rotation matrix, 41
entries), which /odom and /joint_states cannot carry without a second position; the
robot's own environment (sim.legged.ant.AntEnv) observes this description's state, so
the graph and in-process episodes are the same, and the benchmark stays as it is.

The action is the eight joint torques, normalised to [-1, 1], one value per actuator on
/cmd (std_msgs/Float64MultiArray, as ros2_control's forward_command_controller for
effort takes it), in the official actuator order (leg 4 first). Its task is to walk
forward: the cost is minus the centre of mass's forward velocity
(config/ant_crippled_leg.yaml, which the benchmark family shares), so it follows no
reference path. One control step is one env step,
0.02 s (50 Hz).

Simulated in MuJoCo (the crippled-leg family): sim_node's conditions are
`crippled_leg=<0..3>` (the leg's hip and ankle get no torque and its outer capsules
are shortened) and `nominal`.
"""

from meta_mpc_ros.core.spaces import ActionSpec
from meta_mpc_ros.robots.description import RobotDescription, SimDescription
from meta_mpc_ros.robots.state import StateTerm

# The leg joints in the model's order (leg k: hip_k, ankle_k), and the actuators' order.
JOINTS = tuple(f'{part}_{leg}' for leg in range(1, 5) for part in ('hip', 'ankle'))
ACTUATED = JOINTS[6:] + JOINTS[:6]
CONTROL_DT = 0.02       # s: one env step (official: timestep 0.02, no frame skip)

ANT = RobotDescription(
    name='ant',
    summary="The paper's ant (8 joint torques on /cmd, its leg joints on /joint_states, "
            'its centre of mass, orientation and twist on /odom); walks forward, a leg can '
            'be crippled at run time; simulated in MuJoCo.',
    state_terms=tuple(StateTerm(f'torso_com_{axis}', 'position', axis, 'm') for axis in 'xyz')
    + tuple(StateTerm(angle, 'orientation', angle, 'rad', cos_sin=True)
            for angle in ('roll', 'pitch', 'yaw'))
    + tuple(StateTerm(joint, 'joint_position', joint, 'rad') for joint in JOINTS)
    + tuple(StateTerm(f'torso_v{axis}', 'linear_velocity', axis, 'm/s') for axis in 'xyz')
    + tuple(StateTerm(f'torso_w{axis}', 'angular_velocity', axis, 'rad/s') for axis in 'xyz')
    + tuple(StateTerm(f'{joint}_vel', 'joint_velocity', joint, 'rad/s') for joint in JOINTS),
    joints=JOINTS,
    model_input_excluded=('torso_com_x', 'torso_com_y'),
    action=ActionSpec(names=ACTUATED, units=('1',) * len(ACTUATED),
                      low=(-1.0,) * len(ACTUATED), high=(1.0,) * len(ACTUATED)),
    command='forward_command',
    pose=(),
    config='ant_crippled_leg',
    tasks=(),
    sim=SimDescription(environment='ant',
                       simulator='meta_mpc_ros.sim.legged.node_sim:AntSim',
                       default_condition='nominal',
                       demo_condition='crippled_leg=3',
                       conditions='sim/legged/conditions.py CrippledLeg'),
    checkpoint_prefix='ant',
    control_dt=CONTROL_DT,
    publish_rate_hz=1.0 / CONTROL_DT,
)
