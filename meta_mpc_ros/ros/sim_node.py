"""
sim_node: a simulated robot (MuJoCo), whose world changes at run time.

It simulates the `robot` parameter's robot, the simulator its description names
(robots.ROBOTS, SimDescription.simulator, imported by sim.registry.simulator_class: the
millirobot's sim.MillirobotSim, the differential-drive base's sim.DiffDriveSim, the
legged robots' sim.legged.node_sim simulators, or a user's robot's own), at
`real_time_factor` times real time and publishes, every 1 / publish_rate_hz of sim time:

    /clock                  rosgraph_msgs/Clock, the sim time every other node follows
    /joint_states           sensor_msgs/JointState: every joint of the simulator
                            (the millirobot's two motors and six legs; the base's
                            wheels; every joint of a legged robot)
    /odom                   nav_msgs/Odometry, odom -> base_link (twist in base_link)
    /meta_mpc/terrain       std_msgs/String, the active condition spec (latched)

and applies the commands of the robot's command interface (ros.command_interfaces):
/cmd (std_msgs/Float64MultiArray, one value per action entry: the millirobot's [left,
right] leg rates, rad/s; a legged robot's joint torques), like a
forward_command_controller, or /cmd_vel
(geometry_msgs/Twist) for the base. Like robot firmware, it stops the robot when
commands stop for `command_timeout_s`. The `condition` and `schedule` parameters take
the simulator's own conditions (its `parse_condition`; the default is the description's
`default_condition`).

A simulator is a class built as simulator(condition, physics_timestep,
seed) with JOINT_NAMES, parse_condition, validate_command, set_condition, set_command,
command, step(duration), measurements() (time, position, orientation_xyzw,
linear_velocity, angular_velocity, joint_positions, joint_velocities), time, condition,
model, data and close(). The condition is a dynamic parameter; `schedule` changes it
at set sim times. This node is the clock source, so its own timers run on wall time.

In lockstep (CARLA's synchronous mode, PX4 SITL's lockstep) the simulation stands
still at every control period (1 / control_rate_hz) until the command answering the
state of that instant arrives on /meta_mpc/command (a JointState stamped with that
state's stamp); it then applies it, reports it on /meta_mpc/applied_command (stamped
with the instant it took effect) and simulates the next period as fast as it can. So a
run gives the same trajectory on any machine under any load. A graph that stops
answering does not freeze it: after `lockstep_timeout_s` of wall time it applies a
zero command, says so on /diagnostics, and goes on. While it waits it publishes the
state again every LOCKSTEP_REPEAT_S (a node that joined late hears it; the others
ignore a stamp they have seen).
"""

import dataclasses
import functools
import time

from meta_mpc_ros.robots import DEFAULT_ROBOT, robot_description
from meta_mpc_ros.ros import conversions
from meta_mpc_ros.ros.command_interfaces import CommandChannel, STAMPED_PARAMETER
from meta_mpc_ros.ros.node_tools import DropCounter, run_node, StatusReporter
from meta_mpc_ros.ros.parameters import declare_parameters, ParameterSpec
from meta_mpc_ros.sim.conditions import parse_condition, parse_schedule
from meta_mpc_ros.sim.registry import simulated_robots, simulator_class
from nav_msgs.msg import Odometry
import numpy as np
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock as ClockMessage
from sensor_msgs.msg import JointState
from std_msgs.msg import String

# Lockstep: how often the waiting simulator checks for its answer, and repeats its state,
# wall s.
LOCKSTEP_POLL_S = 0.001
LOCKSTEP_REPEAT_S = 0.5
# Before the first answer (the graph is still starting: torch, checkpoints, discovery)
# the wait is this many times lockstep_timeout_s, so that a slow start under load does
# not turn the first command into a zero one.
LOCKSTEP_STARTUP_FACTOR = 10.0


def _check_condition(text, parse=parse_condition):
    """Return None if `text` is a valid condition string (of `parse`), else the reason."""
    try:
        parse(text)
    except ValueError as error:
        return f'condition: {error}'
    return None


def _check_schedule(text, parse=parse_condition):
    """Return None if `text` is a valid schedule of valid conditions, else the reason."""
    try:
        events = parse_schedule(text, 'schedule')
    except ValueError as error:     # the message names the parameter
        return str(error)
    for _, condition in events:
        error = _check_condition(condition, parse)
        if error:
            return f'schedule: {error}'
    return None


PARAMETERS = (
    ParameterSpec('robot', DEFAULT_ROBOT, 'Simulated robot: a key of robots.ROBOTS whose '
                  'description names a simulator this node runs.', choices=simulated_robots()),
    ParameterSpec('world', '', "The simulator's world, one of the robot description's "
                  "(the half-cheetah's flat, hills or pier); empty: its default world."),
    ParameterSpec('condition', 'carpet', 'World condition spec, e.g. carpet or '
                  'slope_deg=8,payload_kg=0.02; changes apply at once.', dynamic=True,
                  check=_check_condition),
    ParameterSpec('schedule', '', "Condition changes at sim times: 'T:SPEC;T:SPEC'.",
                  check=_check_schedule),
    ParameterSpec('real_time_factor', 1.0, 'Sim seconds per wall second (if the CPU keeps up).',
                  bounds=(0.01, 1000.0), dynamic=True),
    ParameterSpec('publish_rate_hz', 50.0, 'Rate of /clock, /odom and /joint_states, per sim '
                  'second.', bounds=(1.0, 1000.0)),
    ParameterSpec('physics_timestep', 0.004, 'MuJoCo time step, s (a legged robot keeps its '
                  'own model timestep).', bounds=(1e-4, 0.02)),
    ParameterSpec('command_timeout_s', 0.5, 'Stop the robot when no command came for this long '
                  '(sim s).', bounds=(0.01, 3600.0)),
    ParameterSpec('headless', True, 'Run without a viewer window (needs a display if false).'),
    ParameterSpec('seed', 0, 'Seed of the initial leg phase and seeded terrains (of a legged '
                  'robot, its reset noise: an episode seed of meta-mpc evaluate).',
                  bounds=(0, 2 ** 32 - 1)),
    ParameterSpec('odom_frame', 'odom', 'Fixed frame of /odom.'),
    ParameterSpec('base_frame', 'base_link', 'Robot frame (child of odom).'),
    ParameterSpec('lockstep', False, 'Wait at every control period for the command that '
                  'answers its state (/meta_mpc/command); real_time_factor is then unused.'),
    ParameterSpec('control_rate_hz', 10.0, 'Lockstep: control periods per sim second (the '
                  "state estimator's rate); a whole number of publish periods.",
                  bounds=(0.5, 200.0)),
    ParameterSpec('lockstep_timeout_s', 30.0, 'Lockstep: wall seconds to wait for an answer '
                  'before applying a zero command and going on.', bounds=(0.01, 3600.0)),
    STAMPED_PARAMETER,
)


def parameters(robot=DEFAULT_ROBOT, world=''):
    """Return every parameter of the node, the worlds and conditions a robot's simulator's."""
    description = robot_description(robot)
    parse = simulator_class(robot, world).parse_condition
    specs = {spec.name: spec for spec in PARAMETERS}
    specs['world'] = dataclasses.replace(specs['world'],
                                         choices=('',) + description.world_names)
    specs['condition'] = dataclasses.replace(
        specs['condition'], default=description.world(world).default_condition,
        check=functools.partial(_check_condition, parse=parse))
    specs['schedule'] = dataclasses.replace(
        specs['schedule'], check=functools.partial(_check_schedule, parse=parse))
    return tuple(specs.values())


class SimNode(Node):
    """Step the simulator in (scaled) real time and publish what a robot would."""

    def __init__(self):
        super().__init__('sim_node')
        robot = declare_parameters(self, PARAMETERS[:1])['robot']
        world = declare_parameters(self, parameters(robot)[1:2])['world']
        self.values = dict(declare_parameters(self, parameters(robot, world)[2:],
                                              self.apply_dynamic), robot=robot, world=world)
        values = self.values
        self.robot = robot_description(robot)
        self.simulator = simulator_class(robot, world)
        self.channel = CommandChannel(self.robot.command_interface,
                                      values['enable_stamped_cmd_vel'])
        self.sim = self.simulator(values['condition'], values['physics_timestep'],
                                  values['seed'])
        self.schedule = parse_schedule(values['schedule'])
        self.period = 1.0 / values['publish_rate_hz']
        self.drops = DropCounter(self.get_logger())
        self.last_command_time = None
        self.wall_start, self.sim_start = time.monotonic(), self.sim.time
        self.clock_publisher = self.create_publisher(ClockMessage, '/clock', 10)
        self.joint_publisher = self.create_publisher(JointState, '/joint_states', 20)
        self.odom_publisher = self.create_publisher(Odometry, '/odom', 20)
        self.terrain_publisher = self.create_publisher(String, '/meta_mpc/terrain', QoSProfile(
            depth=1, reliability=ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.TRANSIENT_LOCAL))
        self.tf_broadcaster = self._transform_broadcaster()
        self.viewer = None if values['headless'] else self._viewer()
        wall = Clock(clock_type=ClockType.STEADY_TIME)
        self.command_timeouts = 0
        self.lockstep = values['lockstep']
        if self.lockstep:
            self._start_lockstep()
            period = LOCKSTEP_POLL_S
        else:
            self.create_subscription(self.channel.message_class, self.channel.topic,
                                     self.on_command, 10)
            period = self.period / values['real_time_factor']
        self.timer = self.create_timer(period, self.tick, clock=wall)
        self.create_timer(1.0, self.publish_terrain, clock=wall)
        self.publish_terrain()
        StatusReporter(self, 'simulation', self.status)
        pace = 'lockstep' if self.lockstep else \
            f'real-time factor {values["real_time_factor"]}'
        self.get_logger().info(f'{self.robot.name} on {self.sim.condition}, {pace}, schedule '
                               f'{self.schedule}')

    def _start_lockstep(self):
        """Set up lockstep: the answer topics, and a wait for the state at t = 0."""
        steps = self.values['publish_rate_hz'] / self.values['control_rate_hz']
        if abs(steps - round(steps)) > 1e-9 or round(steps) < 1:
            raise ValueError(f'lockstep needs publish_rate_hz {self.values["publish_rate_hz"]}'
                             f' to be a whole multiple of control_rate_hz '
                             f'{self.values["control_rate_hz"]}')
        self.publishes_per_control = int(round(steps))
        self.publishes = 0
        self.answers = {}               # state stamp (ns) -> command
        self.answered = False           # an answer came once (the graph is up)
        self.lockstep_timeouts = 0
        self.applied_publisher = self.create_publisher(JointState,
                                                       '/meta_mpc/applied_command', 100)
        self.create_subscription(JointState, '/meta_mpc/command', self.on_answer, 20)
        self.publish_measurements()
        self.await_answer()

    def _transform_broadcaster(self):
        """Return a tf2 broadcaster of odom -> base_link, or None without tf2_ros."""
        try:
            from tf2_ros import TransformBroadcaster
        except ImportError:
            return None
        return TransformBroadcaster(self)

    def _viewer(self):
        """Open MuJoCo's passive viewer, or warn when there is no display."""
        try:
            import mujoco.viewer
            return mujoco.viewer.launch_passive(self.sim.model, self.sim.data)
        except Exception as error:  # no display, no GL: keep simulating headless
            self.get_logger().warning(f'no viewer ({error}); running headless')
            return None

    def apply_dynamic(self, name, value):
        """Apply a validated dynamic parameter."""
        if name == 'condition':
            self.sim.set_condition(value)
            self.publish_terrain()
        elif name == 'real_time_factor':
            self.timer.timer_period_ns = int(self.period / value * 1e9)
            self.wall_start, self.sim_start = time.monotonic(), self.sim.time

    def on_command(self, message):
        """Apply a command (clipped to the bounds); a bad one is dropped."""
        try:
            command = self.simulator.validate_command(self.channel.read(message,
                                                                        self.robot.action.dim))
        except ValueError as error:
            self.drops.drop('cmd', error)
            return
        self.sim.set_command(command)
        self.last_command_time = self.sim.time

    def on_answer(self, message):
        """Lockstep: keep a command stamped with the state it answers."""
        try:
            command, stamp_ns = conversions.read_stamped_command(message,
                                                                 self.robot.action.dim)
            command = self.simulator.validate_command(command)
        except ValueError as error:
            self.drops.drop('command', error)
            return
        # Only an answer to the state awaited counts: a late one (for a state already
        # timed out) or a replayed one is ignored.
        if self.awaiting is not None and \
                abs(stamp_ns - self.awaiting[0]) <= conversions.SAME_STAMP_NS:
            self.answers[stamp_ns] = command

    def await_answer(self):
        """Lockstep: stand still until the command for the state just published comes."""
        stamp_ns = conversions.stamp_to_nanoseconds(conversions.seconds_to_stamp(self.sim.time))
        now = time.monotonic()
        self.awaiting = (stamp_ns, now, now)     # (state stamp, since, last repeat)

    def take_answer(self):
        """
        Lockstep: apply the awaited answer if it is in (or a zero command on timeout).

        :return: True when the simulation may advance.
        """
        stamp_ns, since, repeated = self.awaiting
        now = time.monotonic()
        answered = bool(self.answers)
        if answered:
            command = next(iter(self.answers.values()))
        elif now - since > self.values['lockstep_timeout_s'] * (
                1.0 if self.answered else LOCKSTEP_STARTUP_FACTOR):
            command = np.zeros(self.robot.action.dim)
            self.lockstep_timeouts += 1
            self.get_logger().warning(
                f'lockstep: no command for the state at t={self.sim.time:.2f} s within '
                f'lockstep_timeout_s ({self.values["lockstep_timeout_s"]} s): zero command')
        else:
            if now - repeated > LOCKSTEP_REPEAT_S:
                self.publish_measurements()
                self.awaiting = (stamp_ns, since, now)
            return False
        self.answers.clear()
        self.answered = self.answered or answered
        self.sim.set_command(command)
        self.last_command_time = self.sim.time
        applied = conversions.stamped_command_message(
            self.sim.command, self.robot.action.names, conversions.nanoseconds_to_stamp(stamp_ns))
        self.applied_publisher.publish(applied)
        self.awaiting = None
        return True

    def tick(self):
        """Advance one publish period of sim time and publish (in lockstep: a control period)."""
        if not self.lockstep:
            self.advance()
            return
        if self.awaiting is not None and not self.take_answer():
            return
        while self.awaiting is None:
            self.advance()
            self.publishes += 1
            if self.publishes % self.publishes_per_control == 0:
                self.await_answer()

    def advance(self):
        """Apply the schedule and the command timeout, simulate one publish period, publish."""
        # Half a physics step of slack: sim time sums float steps.
        while self.schedule and \
                self.schedule[0][0] <= self.sim.time + 0.5 * self.sim.physics_timestep:
            _, condition = self.schedule.pop(0)
            self.sim.set_condition(condition)
            self.get_logger().info(f'condition -> {self.sim.condition} at t={self.sim.time:.2f}')
            self.publish_terrain()
        if not self.lockstep and self.last_command_time is not None and \
                self.sim.time - self.last_command_time > self.values['command_timeout_s']:
            self.sim.set_command(np.zeros(self.robot.action.dim))
            self.last_command_time = None
            self.command_timeouts += 1
            self.get_logger().warning(f'no {self.channel.topic} within command_timeout_s: '
                                      'robot stopped')
        self.sim.step(self.period)
        self.publish_measurements()
        if self.viewer is not None and self.viewer.is_running():
            self.viewer.sync()

    def publish_measurements(self):
        """Publish /clock, /joint_states, /odom (and tf) at the current sim time."""
        measured = self.sim.measurements()
        stamp = conversions.seconds_to_stamp(measured.time)
        self.clock_publisher.publish(ClockMessage(clock=stamp))
        joints = JointState(name=list(self.simulator.JOINT_NAMES),
                            position=measured.joint_positions.tolist(),
                            velocity=measured.joint_velocities.tolist())
        joints.header.stamp = stamp
        self.joint_publisher.publish(joints)
        odometry = Odometry()
        odometry.header.stamp = stamp
        odometry.header.frame_id = self.values['odom_frame']
        odometry.child_frame_id = self.values['base_frame']
        pose, twist = odometry.pose.pose, odometry.twist.twist
        pose.position.x, pose.position.y, pose.position.z = map(float, measured.position)
        (pose.orientation.x, pose.orientation.y, pose.orientation.z,
         pose.orientation.w) = map(float, measured.orientation_xyzw)
        twist.linear.x, twist.linear.y, twist.linear.z = map(float, measured.linear_velocity)
        twist.angular.x, twist.angular.y, twist.angular.z = map(float,
                                                                measured.angular_velocity)
        self.odom_publisher.publish(odometry)
        if self.tf_broadcaster is not None:
            self._broadcast_transform(odometry)

    def _broadcast_transform(self, odometry):
        """Send odom -> base_link from the odometry pose."""
        from geometry_msgs.msg import TransformStamped
        transform = TransformStamped()
        transform.header = odometry.header
        transform.child_frame_id = odometry.child_frame_id
        position = odometry.pose.pose.position
        transform.transform.translation.x = position.x
        transform.transform.translation.y = position.y
        transform.transform.translation.z = position.z
        transform.transform.rotation = odometry.pose.pose.orientation
        self.tf_broadcaster.sendTransform(transform)

    def publish_terrain(self):
        """Publish the active condition (latched, and again every second)."""
        self.terrain_publisher.publish(String(data=self.sim.condition))

    def status(self):
        """Return this node's /diagnostics status: (level, message, values)."""
        values = {'sim_time_s': self.sim.time, 'condition': self.sim.condition,
                  'real_time_factor': self.achieved_real_time_factor(),
                  'command_timeouts': self.command_timeouts}
        values.update(self.drops.as_values())
        if self.lockstep:
            values['lockstep_timeouts'] = self.lockstep_timeouts
            if self.lockstep_timeouts:
                return 'warn', (f'lockstep: {self.lockstep_timeouts} zero commands after '
                                'no answer within lockstep_timeout_s'), values
        if self.last_command_time is None:
            return 'warn', f'robot stopped: no {self.channel.topic}', values
        return 'ok', f'simulating {self.sim.condition}', values

    def achieved_real_time_factor(self):
        """Return sim seconds per wall second since the last rate change."""
        wall = time.monotonic() - self.wall_start
        return (self.sim.time - self.sim_start) / wall if wall > 0 else 0.0

    def close(self):
        """Close the viewer and renderer."""
        if self.viewer is not None:
            self.viewer.close()
        self.sim.close()


def main(args=None):
    """Run the node until shutdown."""
    return run_node(SimNode, args)
