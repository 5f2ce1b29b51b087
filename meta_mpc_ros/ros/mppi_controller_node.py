"""
mppi_controller_node: plan with the latest adapted model; publish the robot's command.

Each new /meta_mpc/state triggers one planning step (so the control rate is the
estimator's) with core.controller.MPCController. Safety rules from the design:

- stale state (nothing for `state_timeout_s` of wall time, e.g. the simulator or the
  estimator stopped): publish a zero command and report it;
- missing or stale model (no valid update for `model_timeout_s`): plan with theta*
  and say so in diagnostics;
- bad messages (NaN, wrong sizes, foreign models) are dropped, counted and reported.

Publishes the robot's command on its command interface (ros.command_interfaces: /cmd
Float64MultiArray, or /cmd_vel Twist, TwistStamped with `enable_stamped_cmd_vel`),
clipped to the action bounds and the description's acceleration limits
(core.command_limits; every stop is an exact zero), /meta_mpc/command (the same
command as a JointState stamped with the state it answers), /meta_mpc/plan (Path),
/meta_mpc/rollouts (MarkerArray, thinned) and /diagnostics (compute time, model age
and version, fallback, drops).

In lockstep (with the lockstep simulator, which waits for /meta_mpc/command) a state is
answered with the model update of the window that ends at that state: the controller
waits for it, at most `model_wait_s` of wall time, and dates everything by the
state's stamp, so that every step's decision is determined, never a race.
"""

import time

from diagnostic_msgs.msg import DiagnosticArray
from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.command_limits import CommandLimiter
from meta_mpc_ros.core.controller import MPCController
from meta_mpc_ros.core.costs import build_cost, COST_TERMS
from meta_mpc_ros.core.model_update import unpack_update
from meta_mpc_ros.core.roles import DEFAULT_ADAPTER
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.robots import DEFAULT_ROBOT, robot_description, ROBOTS
from meta_mpc_ros.ros import conversions
from meta_mpc_ros.ros.command_interfaces import CommandChannel, STAMPED_PARAMETER
from meta_mpc_ros.ros.controller_parameters import (controller_config,
                                                    controller_parameters, cost_parameters)
from meta_mpc_ros.ros.diagnostics import diagnostic_array, diagnostic_status
from meta_mpc_ros.ros.node_tools import DropCounter, run_node, set_torch_threads
from meta_mpc_ros.ros.parameters import declare_parameters, ParameterSpec
from meta_mpc_ros.shipped import load_graph_checkpoint, resolve_checkpoint
from meta_mpc_ros.sim.registry import robot_cost_terms
from nav_msgs.msg import Path
import numpy as np
from rclpy.clock import Clock, ClockType
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from std_msgs.msg import UInt8MultiArray
import torch
from visualization_msgs.msg import MarkerArray

ROBOT = ParameterSpec('robot', DEFAULT_ROBOT, 'Robot the checkpoint was trained for (a key '
                      "of robots.ROBOTS); its config YAML's controller and cost sections are "
                      'the defaults of the planning parameters.', choices=ROBOTS)
PARAMETERS = (
    ROBOT,
    ParameterSpec('checkpoint', '', 'Checkpoint holding theta* (the fallback model); must '
                  "be the adaptive_dynamics_node's. Empty: the shipped one for the adapter."),
    ParameterSpec('adapter', DEFAULT_ADAPTER, "The adaptive_dynamics_node's adapter (picks the "
                  'shipped checkpoint when `checkpoint` is empty).', choices=ADAPTERS),
    ParameterSpec('device', 'cpu', 'Torch device for planning: cpu or cuda.',
                  choices=('cpu', 'cuda')),
    ParameterSpec('threads', 1, 'Torch CPU threads of this process.', bounds=(1, 64)),
    ParameterSpec('state_timeout_s', 0.5, 'No state for this long (wall s): zero command.',
                  bounds=(0.01, 60.0)),
    ParameterSpec('rollouts_shown', 20, 'Sampled rollouts drawn on /meta_mpc/rollouts.',
                  bounds=(0, 1000)),
    ParameterSpec('frame_id', 'odom', 'Frame of the plan and rollouts.'),
    STAMPED_PARAMETER,
    ParameterSpec('base_frame', 'base_link', 'Frame of a stamped command.'),
    ParameterSpec('lockstep', False, 'Answer each state with the model of its own window '
                  '(waiting for it); no wall-clock state timeout (the simulator waits).'),
    ParameterSpec('model_wait_s', 15.0, 'Lockstep: longest wait (wall s) for the model of a '
                  "state's window, or for the reference path; then plan without it.",
                  bounds=(0.01, 3600.0)),
)
# How often a lockstep controller checks a waiting state's deadline, wall s.
LOCKSTEP_POLL_S = 0.01
# Before the first model update (the adaptive node may still be starting) the wait is
# this many times model_wait_s.
LOCKSTEP_STARTUP_FACTOR = 10.0


def default_cost_terms(robot, robot_config):
    """
    Return a robot's default cost terms: its config's `cost:`, else its environment's.

    The legged robots' configs give none: they plan with their environment's reward, as
    in-process (pipeline.config.RobotConfig.cost_terms).
    """
    description = ROBOTS.get(robot)
    if robot_config.cost or description is None or description.sim is None:
        return robot_config.cost
    return robot_cost_terms(robot)


def parameters(robot=DEFAULT_ROBOT):
    """Return every parameter of the node with a robot's defaults (the docs' table)."""
    config = load_robot_config(robot)
    return PARAMETERS + controller_parameters(config.controller) + \
        cost_parameters(default_cost_terms(robot, config))


class MPPIControllerNode(Node):
    """Plan at the control rate with the latest adapted model and publish commands."""

    def __init__(self):
        super().__init__('mppi_controller_node')
        self.values = self._declare()
        set_torch_threads(self.values['threads'])
        values = self.values
        if values['device'] == 'cuda' and not torch.cuda.is_available():
            raise ValueError('device cuda requested but CUDA is not available')
        description = robot_description(values['robot'])
        self.channel = CommandChannel(description.command_interface,
                                      values['enable_stamped_cmd_vel'], values['base_frame'])
        self.limiter = CommandLimiter(description.action.low, description.action.high,
                                      description.acceleration_limits)
        self.limited_stamp = None       # the stamp (s) of the last limited command
        self.control_dt = description.control_dt
        path = resolve_checkpoint(values['checkpoint'], values['robot'], values['adapter'])
        self.checkpoint = load_graph_checkpoint(path, values['device'], values['robot'])
        # The plan is shown by the description's planar pose entries (none: not shown).
        self.pose = self.checkpoint.state_spec.indices(*robot_description(values['robot']).pose)
        self.model = self.checkpoint.model
        self.meta_params = self.checkpoint.params
        self.action_dim = self.checkpoint.action_spec.dim
        self.cost = build_cost(self.cost_terms(), self.checkpoint.state_spec)
        config = controller_config(values)
        self.controller = MPCController(
            self.model, self.meta_params, self.model.null_context(values['device']), self.cost,
            self.checkpoint.state_spec, self.checkpoint.action_spec, config, values['device'])
        self.drops = DropCounter(self.get_logger())
        self.last_state_wall = None
        self.newest_state_ns = None     # the latest state's stamp: time has reached it
        self.reference_stamp = None
        self.reference_points = None      # the last path followed, as received
        self.stopped = False
        self.stop_reason = ''
        self.last = None
        self.steps = 0
        self.pending = None     # lockstep: (state, stamp message, stamp ns, wall time)
        self.last_answer = None     # lockstep: (state stamp ns, the messages sent)
        self.last_sent = None
        self.model_stamp_ns = None
        self.model_waits_timed_out = 0
        self.cmd_publisher = self.create_publisher(self.channel.message_class,
                                                   self.channel.topic, 10)
        self.stamped_cmd_publisher = self.create_publisher(JointState, '/meta_mpc/command', 10)
        self.plan_publisher = self.create_publisher(Path, '/meta_mpc/plan', 10)
        self.rollouts_publisher = self.create_publisher(MarkerArray, '/meta_mpc/rollouts', 10)
        self.diagnostics_publisher = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.create_subscription(JointState, '/meta_mpc/state', self.on_state, 10)
        self.create_subscription(UInt8MultiArray, '/meta_mpc/model', self.on_model, QoSProfile(
            depth=1, reliability=ReliabilityPolicy.RELIABLE))
        self.create_subscription(Path, '/meta_mpc/reference', self.on_reference, QoSProfile(
            depth=1, reliability=ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.TRANSIENT_LOCAL))
        wall = Clock(clock_type=ClockType.STEADY_TIME)
        if values['lockstep']:
            self.create_timer(LOCKSTEP_POLL_S, self.answer_pending, clock=wall)
        else:
            self.create_timer(min(0.1, values['state_timeout_s'] / 2), self.watchdog,
                              clock=wall)
        self.create_timer(1.0, self.report, clock=wall)
        self.get_logger().info(f'planner {values["planner"]} K={values["num_samples"]} '
                               f'H={values["horizon"]} {values["dtype"]}, fallback model {path}')

    def _declare(self):
        """
        Declare the parameters: the robot first, whose YAML holds the defaults.

        The robot's `controller:` section gives the planning parameters' defaults and
        its `cost:` section the cost's. Only the last declaration holds dynamic
        parameters, so one set request is checked as a whole before any value is applied.
        """
        robot = declare_parameters(self, (ROBOT,))['robot']
        robot_config = load_robot_config(robot)
        default_cost = self.default_cost = default_cost_terms(robot, robot_config)
        terms = declare_parameters(self, cost_parameters(default_cost)[:1])['cost.terms']
        values = declare_parameters(
            self, PARAMETERS[1:] + controller_parameters(robot_config.controller) +
            cost_parameters(default_cost, terms)[1:], self.apply_dynamic, self.check_dynamic)
        return dict(values, robot=robot, **{'cost.terms': terms})

    def cost_terms(self):
        """Return the cost term dicts of the cost.* parameters (and the robot's YAML)."""
        defaults = {term['name']: term for term in self.default_cost}
        terms = []
        for name in self.values['cost.terms']:
            term = dict(defaults.get(name, {}), name=name)
            for key in ('weight',) + tuple(COST_TERMS[name].settings):
                term[key] = self.values[f'cost.{name}.{key}']
            terms.append(term)
        return terms

    def _planner_setting(self, name):
        """Return the chosen planner's setting a parameter name sets, else None."""
        prefix = f'planner.{self.values["planner"]}.'
        return name[len(prefix):] if name.startswith(prefix) else None

    def check_dynamic(self, name, value):
        """Return why a dynamic value cannot be applied to this node, or None."""
        setting = self._planner_setting(name)
        if setting is None:
            return None
        error = self.controller.planner.check_setting(setting, value)
        return f'{name}: {error}' if error else None

    def apply_dynamic(self, name, value):
        """Apply a checked dynamic parameter (the chosen planner's or the cost's)."""
        setting = self._planner_setting(name)
        if setting is not None:
            self.controller.planner.set_setting(setting, value)
        elif name.startswith('cost.'):
            _, term, key = name.split('.')
            self.cost.set_setting(term, key, value)

    def now_seconds(self):
        """Return ROS time (sim time under use_sim_time), s."""
        return self.get_clock().now().nanoseconds * 1e-9

    def on_reference(self, message):
        """Follow a new reference path (a republished one, same stamp and points: ignored)."""
        stamp = conversions.stamp_to_nanoseconds(message.header.stamp)
        try:
            path = conversions.read_reference_path(message)
        except ValueError as error:     # checked first: a path stamped 0 (before /clock)
            self.drops.drop('reference', error)     # is no reason to skip the check
            return
        # Compared with the path as received: the tracker tiles a closed path over many
        # laps, so its points never equal a republished message's, and restarting the
        # tracker every republish sent the robot back to the path's start each second.
        if stamp == self.reference_stamp and self.reference_points is not None and \
                np.array_equal(path.points, self.reference_points):
            return
        self.controller.set_path(path)
        self.reference_stamp = stamp
        self.reference_points = path.points.copy()
        self.answer_pending()

    def on_model(self, message):
        """Verify and take an adapted model update newer than the one in use."""
        try:
            adapted, info = unpack_update(message.data.tobytes() if hasattr(
                message.data, 'tobytes') else bytes(message.data), self.model,
                self.meta_params, self.checkpoint.digest, self.values['device'])
            stamp = info.stamp_ns * 1e-9
            if info.stamp_ns == self.model_stamp_ns and \
                    info.version == self.controller.model_version:
                return      # the update in use, sent again (a repeated window): no news
            self.controller.check_update(info.version, stamp, self.control_time())
        except Exception as error:      # anything a foreign payload provokes is a drop
            self.drops.drop('model', error)
            return
        self.controller.set_model(adapted, info.version, stamp)
        self.model_stamp_ns = info.stamp_ns
        self.answer_pending()

    def control_time(self):
        """
        Return the time (s) that dates models: ROS time, or the latest state's if later.

        A model is dated by the newest state of its window, so time has reached the
        latest state's stamp even when the /clock this node has heard lags behind it: in
        lockstep the simulator stands still while it waits, and at start-up under
        use_sim_time the first /clock may come after the first states.
        """
        now = self.now_seconds()
        if self.newest_state_ns is not None:
            now = max(now, self.newest_state_ns * 1e-9)
        return now

    def on_state(self, message):
        """Plan for a new state (in lockstep once its model is in) and publish."""
        try:
            state, _ = conversions.read_state(message, self.checkpoint.state_spec.names)
        except ValueError as error:
            self.drops.drop('state', error)
            return
        self.last_state_wall = time.monotonic()
        stamp_ns = conversions.stamp_to_nanoseconds(message.header.stamp)
        self.newest_state_ns = stamp_ns     # the latest, not the largest: a clock that
        # jumps back (a restarted simulator) must not date every later model as old
        if not self.values['lockstep']:
            self.answer(state, message.header.stamp, self.now_seconds())
            return
        if self.last_answer is not None and stamp_ns == self.last_answer[0]:
            # The lockstep simulator repeats a state while it waits: it may have missed
            # the answer. Send it again; planning again would change the planner's state.
            for publisher, sent in zip((self.cmd_publisher, self.stamped_cmd_publisher),
                                       self.last_answer[1]):
                publisher.publish(sent)
            return
        if self.pending is not None and stamp_ns == self.pending[2]:
            return
        if self.pending is not None:    # superseded before its model came: answer it now
            self.answer_pending(force=True)
        self.pending = (state, message.header.stamp, stamp_ns, time.monotonic())
        self.answer_pending()

    def answer_pending(self, force=False):
        """
        Lockstep: answer the waiting state once its window's model and a path are in.

        :param force: answer now with whatever model there is.
        """
        if self.pending is None:
            return
        state, stamp, stamp_ns, since = self.pending
        has_path = self.controller.tracker is not None or not self.controller.uses_path
        has_model = self.model_stamp_ns is not None and \
            abs(self.model_stamp_ns - stamp_ns) <= conversions.SAME_STAMP_NS
        waited = time.monotonic() - since
        limit = self.values['model_wait_s'] * (
            1.0 if self.model_stamp_ns is not None else LOCKSTEP_STARTUP_FACTOR)
        if not force and not (has_path and has_model) and waited < limit:
            return
        if not has_model:
            self.model_waits_timed_out += 1
            self.get_logger().warning(f'no model for the window of the state stamped '
                                      f'{stamp_ns * 1e-9:.3f} s after {waited:.1f} s: '
                                      'planning with the newest there is',
                                      throttle_duration_sec=5.0)
        self.pending = None
        self.answer(state, stamp, stamp_ns * 1e-9)
        self.last_answer = (stamp_ns, self.last_sent)

    def answer(self, state, stamp, now):
        """Plan for `state` at time `now` (s); publish the command, plan and rollouts."""
        if self.controller.uses_path and self.controller.tracker is None:
            self.publish_command(np.zeros(self.action_dim), 'no reference path yet', stamp)
            return
        try:
            result = self.controller.act(state, now)
        except Exception as error:      # e.g. a state no model can plan from
            self.drops.drop('plan', error)
            self.publish_command(np.zeros(self.action_dim), f'cannot plan: {error}', stamp)
            return
        self.last = result
        self.steps += 1
        self.publish_command(result.action, stamp=stamp)
        try:
            self.publish_plan(result, stamp)
        except ValueError as error:     # a plan or rollout that left float range
            self.drops.drop('plan_display', error)

    def publish_plan(self, result, stamp):
        """Publish the plan and the thinned rollouts for display."""
        if not self.pose:
            return
        frame = self.values['frame_id']
        x, y, cos_yaw, sin_yaw = self.pose      # the description's pose entries
        xy = (x, y)
        yaw = np.arctan2(result.plan_states[:, sin_yaw], result.plan_states[:, cos_yaw])
        self.plan_publisher.publish(conversions.plan_message(
            np.column_stack([result.plan_states[:, xy], yaw]), frame, stamp))
        if self.values['rollouts_shown']:
            shown = result.rollouts[:self.values['rollouts_shown'], :, list(xy)].float()
            self.rollouts_publisher.publish(conversions.rollouts_marker_array(
                shown.cpu().numpy(), frame, stamp, self.values['rollouts_shown']))

    def publish_command(self, action, reason=None, stamp=None):
        """
        Publish a command; a reason marks a safety stop (logged when it changes).

        A planned action is limited (`limit_command`); a stop sends exactly zero and
        the limits restart from rest.

        :param stamp: the stamp of the state it answers (also sent on
            /meta_mpc/command), or None for a stop no state asked for.
        """
        if reason is None:
            action = self.limit_command(action, stamp)
        else:
            action = np.zeros(self.action_dim)
            self.limiter.reset()
            self.limited_stamp = None
        command = self.channel.message(action, stamp or self.get_clock().now().to_msg())
        self.cmd_publisher.publish(command)
        if stamp is not None:
            stamped = conversions.stamped_command_message(
                action, self.checkpoint.action_spec.names, stamp)
            self.stamped_cmd_publisher.publish(stamped)
            self.last_sent = (command, stamped)
        if reason is not None and (not self.stopped or reason != self.stop_reason):
            self.get_logger().warning(f'zero command: {reason}')
        self.stopped = reason is not None
        self.stop_reason = reason or self.stop_reason

    def limit_command(self, action, stamp):
        """
        Return a planned action clipped to the bounds and the acceleration limits.

        The time it may change over is the one since the state of the previous limited
        command (the control period); the first after a stop changes from rest over
        one control period of the robot.
        """
        now = conversions.stamp_to_seconds(stamp) if stamp is not None else self.now_seconds()
        # To the microsecond, so that a period of stamps in ns is the in-process agent's
        # control_dt to the bit (pipeline.agents limits its actions the same way).
        elapsed = self.control_dt if self.limited_stamp is None else \
            round(now - self.limited_stamp, 6)
        self.limited_stamp = now
        return self.limiter(action, elapsed)

    def close(self):
        """Stop the robot on the way out: one last zero command (if DDS is still up)."""
        if self.context.ok():
            self.publish_command(np.zeros(self.action_dim), 'controller shutting down')
            # Deliver it (reliable QoS) before the publisher is destroyed.
            self.cmd_publisher.wait_for_all_acked(Duration(seconds=1.0))

    def watchdog(self):
        """Stop the robot when states stop arriving."""
        if self.last_state_wall is None:
            return
        if time.monotonic() - self.last_state_wall > self.values['state_timeout_s']:
            self.publish_command(np.zeros(self.action_dim), 'stale state')

    def report(self):
        """Publish diagnostics about planning, the model in use and drops."""
        last = self.last
        now = self.now_seconds()
        age = self.controller.model_age(now)
        # Whether a plan now would use theta*: the last plan may be older than the model's
        # timeout when states stalled.
        fallback = self.controller.falls_back(now)
        values = {'steps': self.steps, 'compute_ms': last.compute_ms if last else 0.0,
                  'model_version': self.controller.model_version,
                  'model_age_s': age if np.isfinite(age) else -1.0,
                  'fallback_to_meta_model': fallback, 'zero_command': self.stopped,
                  'model_waits_timed_out': self.model_waits_timed_out,
                  'path_distance_m': last.path_distance if last else 0.0}
        values.update(self.drops.as_values())
        if self.stopped:
            level, text = 'error', f'zero command: {self.stop_reason}'
        elif fallback:
            level, text = 'warn', 'planning with theta* (no fresh adapted model)'
        else:
            level, text = 'ok', f'planning with adapted model v{self.controller.model_version}'
        self.diagnostics_publisher.publish(diagnostic_array(
            [diagnostic_status(f'{self.get_name()}: control', level, text, values)],
            self.get_clock().now().to_msg()))


def main(args=None):
    """Run the node until shutdown."""
    return run_node(MPPIControllerNode, args)
