"""
A robot's description: everything the graph, training and the docs need to know of it.

One `RobotDescription` per robot, registered in `robots.ROBOTS`. It says how the
state is built from /odom and /joint_states (robots.state), which actions the robot
takes and on which command interface, its default cost and tasks (its learning
config), its simulator and world conditions, its URDF for rviz and its shipped
checkpoints. The estimator, the controller, sim_node, bag reading, training,
evaluation and the demo read it; nothing else names a robot.
"""

from dataclasses import dataclass
import functools

from meta_mpc_ros.core.spaces import ActionSpec
from meta_mpc_ros.robots.state import StateLayout


@dataclass(frozen=True)
class CommandInterface:
    """
    How the graph sends the action to the robot.

    :param topic: the command topic (remapped by the `cmd_topic` launch argument).
    :param message_type: the ROS message type, as rosbag2 names it.
    :param description: one line for the robot contract.
    :param also_reads: other message types that bag reading takes as these commands.
    :param stamped_type: the stamped variant the controller publishes instead when its
        `enable_stamped_cmd_vel` parameter is set (as nav2's), '' for none.
    """

    topic: str
    message_type: str
    description: str
    also_reads: tuple = ()
    stamped_type: str = ''

    @property
    def message_types(self):
        """Return every message type a recording of these commands may have."""
        return (self.message_type,) + tuple(self.also_reads)


# The command interfaces the graph speaks: name -> CommandInterface.
COMMAND_INTERFACES = {
    'forward_command': CommandInterface(
        '/cmd', 'std_msgs/msg/Float64MultiArray',
        "one value per action entry, in the description's order, as ros2_control's "
        'forward_command_controller takes it'),
    'twist': CommandInterface(
        '/cmd_vel', 'geometry_msgs/msg/Twist',
        "a mobile base's velocity: `linear.x` and `angular.z` are the action's two entries "
        '(forward speed, m/s, and turn rate, rad/s); training also reads '
        'geometry_msgs/msg/TwistStamped', also_reads=('geometry_msgs/msg/TwistStamped',),
        stamped_type='geometry_msgs/msg/TwistStamped'),
}


@dataclass(frozen=True)
class SimDescription:
    """
    The robot's simulator.

    :param environment: the name of its environment in sim.registry (make_env, for
        in-process training and evaluation), '' for a robot simulated only under
        sim_node.
    :param simulator: the class sim_node runs, as 'module:Class' (imported when a node
        starts: a user's robot names its own, in its own module; the interface is
        sim_node's docstring's), '' for a robot sim_node cannot simulate.
    :param model: its MuJoCo model in the share directory ('' when built in code).
    :param default_condition: the world condition sim_node starts in.
    :param conditions: where its world conditions are registered (for the docs).
    :param demo_condition: the held-out condition `meta-mpc demo` switches to.
    :param name: the world's name, for sim_node's `world` parameter (and the `sim_world`
        launch argument) where a robot has several.
    :param worlds: the robot's other worlds, a SimDescription each (a world is a
        simulator of its own, chosen at start; its conditions change at run time).
    """

    environment: str = ''
    simulator: str = ''
    model: str = ''
    default_condition: str = ''
    conditions: str = ''
    demo_condition: str = ''
    name: str = 'default'
    worlds: tuple = ()


@dataclass(frozen=True)
class RobotDescription:
    """
    One robot, declared once.

    :param name: the robot's name: the `robot` parameter and launch argument.
    :param summary: one line for the docs.
    :param state_terms: robots.state.StateTerm tuple, in state order.
    :param joints: the /joint_states joints the state reads, in order.
    :param model_input_excluded: state entries the dynamics model does not see.
    :param action: the action vector (names, units, bounds).
    :param command: a key of COMMAND_INTERFACES.
    :param pose: the state entries (x, y, cos_yaw, sin_yaw) of the planar pose, for the
        planned path the controller publishes; () for a robot without one (no plan shown).
    :param config: its learning settings and default cost, config/<config>.yaml.
    :param tasks: the reference tasks (core.reference.TASKS) it follows.
    :param sim: its SimDescription, or None for a robot sim_node cannot simulate.
    :param urdf: its URDF in the share directory, for rviz ('' for none).
    :param checkpoint_prefix: shipped checkpoints are models/<prefix>_<method>.pt.
    :param control_dt: the control period, s, of a robot without a simulator (one with
        a simulator takes its simulator's).
    :param acceleration_limits: the largest change per second of each action entry (its
        unit per s: m/s^2 for a speed), which the controller's commands respect; () for
        none.
    :param publish_rate_hz: how often its simulator publishes /odom and /joint_states,
        per sim second: a whole multiple of the control rate (1 / control_dt).
    """

    name: str
    summary: str
    state_terms: tuple
    joints: tuple
    action: ActionSpec
    command: str = 'forward_command'
    model_input_excluded: tuple = ()
    pose: tuple = ('x', 'y', 'cos_yaw', 'sin_yaw')
    config: str = ''
    tasks: tuple = ()
    sim: SimDescription = None
    urdf: str = ''
    checkpoint_prefix: str = ''
    control_dt: float = 0.1
    acceleration_limits: tuple = ()
    publish_rate_hz: float = 50.0

    def __post_init__(self):
        if self.command not in COMMAND_INTERFACES:
            raise ValueError(f'robot {self.name!r}: command interface {self.command!r} is not '
                             f'one of {tuple(COMMAND_INTERFACES)}')
        missing = [name for name in self.pose if name not in self.state.names]
        if self.pose and (len(self.pose) != 4 or missing):
            raise ValueError(f'robot {self.name!r}: pose needs its x, y, cos_yaw and sin_yaw '
                             f'state entries; {missing or self.pose} are not')
        ratio = self.publish_rate_hz * self.control_dt
        if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
            raise ValueError(f'robot {self.name!r}: publish_rate_hz {self.publish_rate_hz} is '
                             f'not a whole multiple of the control rate {1 / self.control_dt:g}')
        limits = self.acceleration_limits
        if limits and (len(limits) != self.action.dim or min(limits) <= 0.0):
            raise ValueError(f'robot {self.name!r}: acceleration_limits needs '
                             f'{self.action.dim} positive values, got {limits}')

    @property
    def control_rate_hz(self):
        """Return the control steps per second (1 / control_dt)."""
        return 1.0 / self.control_dt

    @functools.cached_property
    def layout(self):
        """Return the StateLayout of the state terms."""
        return StateLayout(self.state_terms, self.joints, self.model_input_excluded)

    @property
    def state(self):
        """Return the StateSpec of the state vector."""
        return self.layout.spec

    @property
    def command_interface(self):
        """Return the CommandInterface the robot takes its actions on."""
        return COMMAND_INTERFACES[self.command]

    @property
    def config_name(self):
        """Return the name of its learning config (config/<name>.yaml)."""
        return self.config or self.name

    def build_state(self, position, orientation_xyzw, linear_velocity, angular_velocity,
                    joint_positions, joint_velocities):
        """Return the (nx,) state of measurements (robots.state.StateLayout.build)."""
        return self.layout.build(position, orientation_xyzw, linear_velocity,
                                 angular_velocity, joint_positions, joint_velocities)

    @property
    def world_names(self):
        """Return the names of the worlds its simulator offers, the default first."""
        return () if self.sim is None else \
            (self.sim.name,) + tuple(world.name for world in self.sim.worlds)

    def world(self, name=''):
        """
        Return the SimDescription of one of its worlds ('' is the default one).

        :raises ValueError: in one line, for a robot without a simulator or that world.
        """
        if self.sim is None:
            raise ValueError(f'robot {self.name!r} has no simulator')
        worlds = {world.name: world for world in (self.sim,) + tuple(self.sim.worlds)}
        if name and name not in worlds:
            raise ValueError(f'robot {self.name!r} has no world {name!r}; choose one of '
                             f'{self.world_names}')
        return worlds[name] if name else self.sim

    def checkpoint_file(self, method):
        """Return the shipped checkpoint's file name for a training method."""
        return f'{self.checkpoint_prefix or self.name}_{method}.pt'
