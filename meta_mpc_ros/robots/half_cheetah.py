"""
The paper's half-cheetah, a planar legged robot of 6 torque-driven joints.

Its state is the official observation (HalfCheetahEnv.get_current_obs), read from
/joint_states and /odom: the positions of the root's z slide and pitch hinge (rootz,
rooty) and of the six leg joints, the velocities of all nine joints (the root's x
slide too), and the centre of mass of the whole cheetah (the torso's subtree), which
/odom carries as its position (its frame `base_link` sits at the centre of mass):
20 entries. The model sees all but the centre of mass's x and y (the dynamics do not
depend on where the cheetah is; y is always 0 in this planar model).

The action is the six joint torques, normalised to [-1, 1], one value per joint on /cmd
(std_msgs/Float64MultiArray, as ros2_control's forward_command_controller for effort
takes it). Its task is to run forward: the cost is minus the centre of mass's forward
velocity plus a small control cost (config/half_cheetah_disabled_joint.yaml), so it
follows no reference path. One control step is one env step, 0.01 s (100 Hz).

Simulated in MuJoCo (sim.legged.half_cheetah) in one of three worlds, sim_node's `world`
(the `sim_world` launch argument), each the paper's family of the same name with its
own conditions: `flat` (the default, the disabled-joint family: `disabled_joint=<0..5>`,
bthigh..ffoot get no torque), `hills` (`terrain=hill|basin|gentle|steep` or
`terrain_seed=N`, a heightfield) and `pier` (`pier_damping_seed=N`, blocks on springs
of hidden damping); `nominal` in each is the unperturbed world.
"""

from meta_mpc_ros.core.spaces import ActionSpec
from meta_mpc_ros.robots.description import RobotDescription, SimDescription
from meta_mpc_ros.robots.state import StateTerm

# The planar root's joints (x slide, z slide, pitch hinge) and the six leg joints.
ROOT_JOINTS = ('rootx', 'rootz', 'rooty')
LEG_JOINTS = ('bthigh', 'bshin', 'bfoot', 'fthigh', 'fshin', 'ffoot')
ROOT_UNITS = {'rootx': ('m', 'm/s'), 'rootz': ('m', 'm/s'), 'rooty': ('rad', 'rad/s')}
CONTROL_DT = 0.01       # s: one env step (official: timestep 0.01, no frame skip)

HALF_CHEETAH = RobotDescription(
    name='half_cheetah',
    summary="The paper's half-cheetah (6 joint torques on /cmd, every joint on "
            '/joint_states, its centre of mass on /odom); runs forward, a joint can be '
            'disabled at run time; simulated in MuJoCo.',
    state_terms=tuple(StateTerm(joint, 'joint_position', joint, ROOT_UNITS[joint][0])
                      for joint in ROOT_JOINTS[1:])
    + tuple(StateTerm(joint, 'joint_position', joint, 'rad') for joint in LEG_JOINTS)
    + tuple(StateTerm(f'{joint}_vel', 'joint_velocity', joint, ROOT_UNITS[joint][1])
            for joint in ROOT_JOINTS)
    + tuple(StateTerm(f'{joint}_vel', 'joint_velocity', joint, 'rad/s')
            for joint in LEG_JOINTS)
    + tuple(StateTerm(f'torso_com_{axis}', 'position', axis, 'm') for axis in 'xyz'),
    joints=ROOT_JOINTS + LEG_JOINTS,
    model_input_excluded=('torso_com_x', 'torso_com_y'),
    action=ActionSpec(names=LEG_JOINTS, units=('1',) * len(LEG_JOINTS),
                      low=(-1.0,) * len(LEG_JOINTS), high=(1.0,) * len(LEG_JOINTS)),
    command='forward_command',
    pose=(),
    config='half_cheetah_disabled_joint',
    tasks=(),
    sim=SimDescription(
        environment='half_cheetah_disabled_joint',
        simulator='meta_mpc_ros.sim.legged.node_sim:HalfCheetahSim', name='flat',
        default_condition='nominal', demo_condition='disabled_joint=0',
        conditions='sim/legged/conditions.py DisabledJoint',
        worlds=(SimDescription(environment='half_cheetah_hills',
                               simulator='meta_mpc_ros.sim.legged.node_sim:HalfCheetahHillsSim',
                               name='hills', default_condition='nominal',
                               demo_condition='terrain=hill',
                               conditions='sim/legged/conditions.py Terrain'),
                SimDescription(environment='half_cheetah_pier',
                               simulator='meta_mpc_ros.sim.legged.node_sim:HalfCheetahPierSim',
                               name='pier', default_condition='nominal',
                               demo_condition='pier_damping_seed=0',
                               conditions='sim/legged/conditions.py PierDamping'))),
    checkpoint_prefix='half_cheetah',
    control_dt=CONTROL_DT,
    publish_rate_hz=1.0 / CONTROL_DT,
)
