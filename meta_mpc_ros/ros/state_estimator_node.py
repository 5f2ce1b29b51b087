"""
state_estimator_node: /odom, /joint_states and the commands in; the state and its window out.

The commands are read on the robot's command interface (ros.command_interfaces: /cmd,
or /cmd_vel for a mobile base).

It feeds core.estimator.StateEstimator (the same class offline training replays bags
through) and publishes, at the control rate:

    /meta_mpc/state        sensor_msgs/JointState as a stamped named vector
    /meta_mpc/transitions  std_msgs/Float64MultiArray: the last min(M, available)
                           transitions (0 to M), stamped with the newest state's stamp
    /diagnostics           samples, staleness, dropped messages

In lockstep the commands come from /meta_mpc/applied_command, stamped by the simulator
when it applied them, instead of /cmd stamped on receipt, and each sample waits for
the command applied since the previous one: the windows are then exactly the
transitions the robot made, as in-process.
"""

from diagnostic_msgs.msg import DiagnosticArray
from meta_mpc_ros.core.estimator import StateEstimator
from meta_mpc_ros.robots import DEFAULT_ROBOT, robot_description, ROBOTS
from meta_mpc_ros.ros import conversions
from meta_mpc_ros.ros.command_interfaces import CommandChannel, STAMPED_PARAMETER
from meta_mpc_ros.ros.diagnostics import diagnostic_array, diagnostic_status
from meta_mpc_ros.ros.node_tools import DropCounter, run_node
from meta_mpc_ros.ros.parameters import declare_parameters, ParameterSpec
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

ROBOT = ParameterSpec('robot', DEFAULT_ROBOT, 'Robot whose state is estimated (a key of '
                      'robots.ROBOTS): its description builds the state from the measurements.',
                      choices=ROBOTS)
PARAMETERS = (
    ROBOT,
    ParameterSpec('control_rate_hz', 10.0, 'Rate of state samples and transitions, Hz.',
                  bounds=(0.5, 200.0)),
    ParameterSpec('window', 16, 'M: transitions in each published adaptation window.',
                  bounds=(1, 512)),
    ParameterSpec('stale_timeout_s', 0.5, 'Odometry older than this (sim time) is stale; '
                  'the window restarts after a gap.', bounds=(0.01, 60.0)),
    ParameterSpec('diagnostics_period_s', 1.0, 'Period of /diagnostics reports, wall s.',
                  bounds=(0.05, 60.0)),
    ParameterSpec('lockstep', False, 'Commands from /meta_mpc/applied_command (stamped by '
                  'the lockstep simulator), not /cmd; samples wait for them.'),
    STAMPED_PARAMETER,
)


def joints_parameter(robot):
    """Return the `motor_joints` parameter, defaulting to a robot's measured joints."""
    return ParameterSpec('motor_joints', list(robot.joints),
                         "JointState names of the robot's measured joints, in its "
                         "description's order (a robot that names them otherwise).")


def parameters(robot=DEFAULT_ROBOT):
    """Return every parameter of the node with a robot's defaults (the docs' table)."""
    return PARAMETERS + (joints_parameter(robot_description(robot)),)


class StateEstimatorNode(Node):
    """Sample the robot's state at the control rate; publish it and its window."""

    def __init__(self):
        super().__init__('state_estimator_node')
        robot = robot_description(declare_parameters(self, (ROBOT,))['robot'])
        self.values = dict(declare_parameters(self, PARAMETERS[1:] + (joints_parameter(robot),)),
                           robot=robot.name)
        self.robot = robot
        if len(self.values['motor_joints']) != len(robot.joints):
            raise ValueError(f'motor_joints needs {len(robot.joints)} names, as '
                             f'{robot.name} measures {list(robot.joints)}')
        self.estimator = StateEstimator(robot, 1.0 / self.values['control_rate_hz'],
                                        self.values['window'], self.values['stale_timeout_s'],
                                        applied_commands=self.values['lockstep'])
        self.drops = DropCounter(self.get_logger())
        self.samples = 0
        self.reported_samples = 0
        self.windows = 0
        self.last_published = None      # (window, state) of the last sample
        # Deep histories: a lockstep graph does not wait for a slow listener (a recorder,
        # an episode runner), which a reliable writer serves from its history.
        self.state_publisher = self.create_publisher(JointState, '/meta_mpc/state', 100)
        self.transitions_publisher = self.create_publisher(Float64MultiArray,
                                                           '/meta_mpc/transitions', 10)
        self.diagnostics_publisher = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.create_subscription(Odometry, '/odom', self.on_odometry, 20)
        self.create_subscription(JointState, '/joint_states', self.on_joints, 20)
        if self.values['lockstep']:
            self.create_subscription(JointState, '/meta_mpc/applied_command',
                                     self.on_applied_command, 20)
        else:
            self.channel = CommandChannel(robot.command_interface,
                                          self.values['enable_stamped_cmd_vel'])
            self.create_subscription(self.channel.message_class, self.channel.topic,
                                     self.on_command, 10)
        # Staleness is judged on the measurements' clock (sim time), reported on wall time
        # so that a stopped simulator (no /clock) is still reported.
        self.create_timer(self.values['diagnostics_period_s'], self.report,
                          clock=Clock(clock_type=ClockType.STEADY_TIME))

    def now_seconds(self):
        """Return the node's ROS time (sim time under use_sim_time) in s."""
        return self.get_clock().now().nanoseconds * 1e-9

    def check_stamp(self, stamp):
        """
        Refuse a measurement stamped ahead of this node's clock by more than the timeout.

        :raises ValueError: with the offset (not checked before the clock runs).
        """
        now = self.now_seconds()
        if now > 0.0 and stamp - now > self.values['stale_timeout_s']:
            raise ValueError(f'stamped {stamp - now:.3f} s ahead of the clock')

    def on_odometry(self, message):
        """Record odometry, then sample if due."""
        try:
            position, orientation, linear, angular, stamp = conversions.read_odometry(message)
            self.check_stamp(stamp)
        except ValueError as error:
            self.drops.drop('odom', error)
            return
        self.estimator.on_odometry(stamp, position, orientation, linear, angular)
        if self.values['lockstep'] and self.last_published is not None and \
                stamp == self.estimator.last_stamp:
            for publisher, sent in zip((self.transitions_publisher, self.state_publisher),
                                       self.last_published):
                publisher.publish(sent)
            return
        self.publish_sample()

    def on_joints(self, message):
        """Record the measured joints, then sample if due."""
        try:
            angles, rates = conversions.read_joint_states(message, self.values['motor_joints'])
            stamp = conversions.stamp_to_seconds(message.header.stamp)
            self.check_stamp(stamp)
        except ValueError as error:
            self.drops.drop('joint_states', error)
            return
        self.estimator.on_joints(stamp, angles, rates)
        self.publish_sample()

    def on_command(self, message):
        """Record the command applied from now on (stamped on receipt)."""
        try:
            command = self.channel.read(message, self.robot.action.dim)
        except ValueError as error:
            self.drops.drop('cmd', error)
            return
        self.estimator.on_command(self.now_seconds(), command)

    def on_applied_command(self, message):
        """Record a command stamped when the robot applied it, then sample if due."""
        try:
            command, stamp_ns = conversions.read_stamped_command(message,
                                                                 self.robot.action.dim)
            self.estimator.on_command(stamp_ns * 1e-9, command)
        except ValueError as error:
            self.drops.drop('applied_command', error)
            return
        self.publish_sample()

    def publish_sample(self):
        """Publish the state (and window) if the estimator has a new sample."""
        try:
            sample = self.estimator.try_sample()
            if sample is None:
                return
            stamp = conversions.seconds_to_stamp(sample.stamp)
            state = conversions.state_message(sample.state, self.robot.state.names, stamp)
            window = conversions.transitions_message(*self.estimator.recent_window(),
                                                     stamp=sample.stamp)
        except ValueError as error:     # e.g. a degenerate quaternion
            self.drops.drop('state', error)
            return
        self.samples += 1
        # The window first: a controller that waits for the model of this state's
        # window then never sees the state before the window is on its way.
        self.windows += 1
        self.transitions_publisher.publish(window)
        self.state_publisher.publish(state)
        self.last_published = (window, state)

    def report(self):
        """Publish diagnostics: status, counts and drops."""
        status = self.estimator.check(self.now_seconds())
        level = {'ok': 'ok', 'waiting': 'warn', 'stale': 'error'}[status]
        long_enough = self.values['diagnostics_period_s'] * self.values['control_rate_hz'] > 2
        if status == 'ok' and long_enough and self.samples == self.reported_samples:
            # Fresh measurements but no state out: they are dropped or out of order.
            level, status = 'warn', 'no state samples since the last report'
        self.reported_samples = self.samples
        values = {'samples': self.samples, 'windows': self.windows,
                  'window_fill': len(self.estimator.buffer)}
        values.update(self.drops.as_values())
        self.diagnostics_publisher.publish(diagnostic_array(
            [diagnostic_status(f'{self.get_name()}: estimate', level, status, values)],
            self.get_clock().now().to_msg()))


def main(args=None):
    """Run the node until shutdown."""
    return run_node(StateEstimatorNode, args)
