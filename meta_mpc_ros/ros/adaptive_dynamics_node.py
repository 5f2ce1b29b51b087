"""
adaptive_dynamics_node: adapt the meta-trained model to each new window; publish it.

On every /meta_mpc/transitions window it runs the chosen adapter (GrBAL's step from
theta*, ReBAL's context, MB+DE's fine-tuning, or nothing for MB) and publishes a
versioned, stamped update on /meta_mpc/model (core.model_update: safetensors bytes in
a UInt8MultiArray), as a change against theta* (core.parameter_delta): GrBAL's step as
its exact rank-M factors, a carried change (continual, MB+DE) truncated to rank
CARRIED_RANK with its error measured. /diagnostics report, per window: the error
before and after adapting (on the window itself), the error of the previous update on
the newest transition (which it had not seen), the adaptation and encoding times, and
the update's size, rank and truncation error.

Every window gets an answer, stamped with the stamp of the window's newest state (the
state it is the model for): a window shorter than the M the model was trained on
(the first M steps of a run) gets theta* itself, unless the adapter reads short
histories (ReBAL), as in-process. A controller in lockstep waits for that answer.
"""

from dataclasses import asdict
import time

from diagnostic_msgs.msg import DiagnosticArray
from meta_mpc_ros.core.adapters import (Adapted, adapter_settings, ADAPTERS, setting_names,
                                        shortest_window, Window, window_loss)
from meta_mpc_ros.core.model_update import pack_update, UpdateInfo
from meta_mpc_ros.core.parameter_delta import CARRIED_RANK, parameter_delta
from meta_mpc_ros.core.roles import DEFAULT_ADAPTER
from meta_mpc_ros.core.session import AdaptationSession
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.robots import DEFAULT_ROBOT, ROBOTS
from meta_mpc_ros.ros import conversions
from meta_mpc_ros.ros.diagnostics import diagnostic_array, diagnostic_status
from meta_mpc_ros.ros.node_tools import DropCounter, run_node, set_torch_threads
from meta_mpc_ros.ros.parameters import declare_parameters, ParameterSpec, settings_parameters
from meta_mpc_ros.shipped import adapter_for, load_graph_checkpoint, resolve_checkpoint
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Float64MultiArray, UInt8MultiArray
import torch

ROBOT = ParameterSpec('robot', DEFAULT_ROBOT, 'Robot the checkpoint was trained for (a key '
                      "of robots.ROBOTS); its config YAML's adapters section is the default of "
                      'the adapter.<name>.* settings.', choices=ROBOTS)
PARAMETERS = (
    ROBOT,
    ParameterSpec('adapter', DEFAULT_ADAPTER,
                  'Online adaptation, a key of core.adapters.ADAPTERS.',
                  choices=ADAPTERS),
    ParameterSpec('checkpoint', '', 'Checkpoint file; empty uses the shipped model for the '
                  'robot and adapter.'),
    ParameterSpec('device', 'cpu', 'Torch device for adaptation: cpu or cuda.',
                  choices=('cpu', 'cuda')),
    ParameterSpec('threads', 1, 'Torch CPU threads of this process.', bounds=(1, 64)),
    ParameterSpec('update_dtype', 'float32', 'Parameter dtype in model updates.',
                  choices=('float32', 'bfloat16')),
    ParameterSpec('lockstep', False, 'Send every adapted parameter whole (no low-rank '
                  'delta), so that the controller plans with exactly the in-process model.'),
)
# EvaluationSettings fields of in-process evaluation alone, not of adaptation: why
# this node has no parameter for them (each adapter's own settings are parameters).
NOT_NODE_SETTINGS = {
    'episode_steps': 'the length of in-process episodes; a graph runs until it is stopped',
}


def adapter_parameters(robot_config):
    """
    Return `adapter.<name>.<setting>` for every registered adapter's own settings.

    They are static; only the chosen adapter (`adapter`) reads its own.

    :param robot_config: RobotConfig whose `adapters` give the defaults (the robot
        YAML's `adapters:` section, as in-process runs adapt).
    :return: tuple of ParameterSpec.
    """
    return tuple(spec for name, registered in ADAPTERS.items() if registered.settings
                 for spec in settings_parameters('adapter', name, registered.settings,
                                                 asdict(robot_config.adapter_settings(name))))


def adapter_settings_of(values, adapter):
    """Return an adapter's own settings from the node's parameter values."""
    return adapter_settings(adapter, {name: values[f'adapter.{adapter}.{name}']
                                      for name in setting_names(adapter)})


def parameters(robot=DEFAULT_ROBOT):
    """Return every parameter of the node with a robot's defaults (the docs' table)."""
    return PARAMETERS + adapter_parameters(load_robot_config(robot))


class AdaptiveDynamicsNode(Node):
    """Hold theta*; adapt on each window and publish the adapted model."""

    def __init__(self):
        super().__init__('adaptive_dynamics_node')
        robot = declare_parameters(self, (ROBOT,))['robot']
        self.values = dict(declare_parameters(self, PARAMETERS[1:] + adapter_parameters(
            load_robot_config(robot))), robot=robot)
        set_torch_threads(self.values['threads'])
        if self.values['device'] == 'cuda' and not torch.cuda.is_available():
            raise ValueError('device cuda requested but CUDA is not available')
        self.device = torch.device(self.values['device'])
        adapter_name = self.values['adapter']
        path = resolve_checkpoint(self.values['checkpoint'], self.values['robot'], adapter_name)
        self.checkpoint = load_graph_checkpoint(path, self.device, self.values['robot'])
        self.model = self.checkpoint.model
        self.meta_params = self.checkpoint.params
        self.adapter = adapter_for(self.checkpoint, adapter_name, self.meta_params,
                                   adapter_settings_of(self.values, adapter_name))
        self.session = AdaptationSession(self.model, self.adapter, self.meta_params)
        self.shortest = shortest_window(self.adapter, self.checkpoint.past_steps or 1)
        self.previous = None                         # last published Adapted
        self.last_answer = None                      # (window stamp, update message)
        self.version = 0
        self.dtype = torch.bfloat16 if self.values['update_dtype'] == 'bfloat16' \
            else torch.float32
        self.drops = DropCounter(self.get_logger())
        self.model_publisher = self.create_publisher(
            UInt8MultiArray, '/meta_mpc/model',
            QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        self.diagnostics_publisher = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.create_subscription(Float64MultiArray, '/meta_mpc/transitions', self.on_window, 10)
        self.get_logger().info(
            f'adapter {adapter_name} on {self.device}, checkpoint {path} '
            f'({self.checkpoint.method}, hash {self.checkpoint.digest[:12]})')

    def on_window(self, message):
        """Adapt to a window and publish the update and diagnostics."""
        try:
            states, actions, stamp = conversions.read_stamped_transitions(
                message, self.model.config.state_dim, self.model.config.action_dim)
            # A longer window than the M the model was trained on (the estimator's
            # `window` is another robot's) is cut to its last M, as in-process.
            past = self.checkpoint.past_steps
            if past and len(actions) > past:
                states, actions = states[-past - 1:], actions[-past:]
            short = len(actions) < self.shortest
            window = None if short else Window.from_arrays(states, actions, self.device)
        except ValueError as error:
            self.drops.drop('transitions', error)
            return
        if stamp is not None and self.last_answer is not None and \
                stamp == self.last_answer[0]:
            # A repeat of the window answered last (the lockstep simulator repeats its
            # state while it waits): send the same update again, adapt nothing.
            self.model_publisher.publish(self.last_answer[1])
            return
        if stamp is None and self.get_clock().now().nanoseconds == 0:
            # An unstamped window (an older estimator) is dated on receipt; under
            # use_sim_time before the first /clock an update stamped 0 would be refused
            # by the controller as stale or replayed.
            self.get_logger().info('waiting for /clock before the first update',
                                   once=True)
            return
        try:
            if short:
                adapted, before, after, forward, adapt_ms = self.meta_answer()
            else:
                adapted, before, after, forward, adapt_ms = self.adapt(window)
        except Exception as error:      # a window the model cannot adapt to: skip it
            self.drops.drop('adaptation', error)
            return
        self.previous = adapted
        self.version += 1
        stamp_ns = self.get_clock().now().nanoseconds if stamp is None \
            else round(stamp * 1e9)
        info = UpdateInfo(version=self.version, stamp_ns=stamp_ns, adapter=self.adapter.name,
                          checkpoint=self.checkpoint.digest, loss_before=before,
                          loss_after=after, adapt_ms=adapt_ms)
        start = time.perf_counter()
        meta = adapted.params is self.meta_params
        delta = None if meta or self.values['lockstep'] else parameter_delta(
            self.adapter, self.model, self.meta_params, adapted.params, window, CARRIED_RANK)
        payload = pack_update(adapted, meta, info, self.dtype, delta)
        encode_ms = (time.perf_counter() - start) * 1e3
        update = UInt8MultiArray(data=payload)
        self.model_publisher.publish(update)
        self.last_answer = (stamp, update)
        if self.version == 1:
            self.get_logger().info(f'first model update published ({len(payload)} bytes, '
                                   f'adapted in {adapt_ms:.2f} ms)')
        values = {'version': self.version, 'adapter': self.adapter.name,
                  'window_stamp_s': stamp_ns * 1e-9,
                  'window_loss_before': before, 'window_loss_after': after,
                  'newest_transition_loss': forward, 'adapt_ms': adapt_ms,
                  'encode_ms': encode_ms, 'update_bytes': len(payload),
                  'update_rank': delta.rank if delta else 0,
                  'update_error': delta.error if delta else 0.0,
                  'resets_to_meta': self.session.resets}
        values.update(self.drops.as_values())
        self.diagnostics_publisher.publish(diagnostic_array(
            [diagnostic_status(f'{self.get_name()}: adaptation', 'ok',
                               f'{self.adapter.name} update {self.version}', values)],
            self.get_clock().now().to_msg()))

    def meta_answer(self):
        """
        Return theta* for a window too short to adapt on, in adapt's form (no losses).

        A short window means a (re)started run: carried parameters start over too.
        """
        self.session.reset()
        return Adapted(self.meta_params, self.model.null_context(self.device)), \
            float('nan'), float('nan'), float('nan'), 0.0

    def adapt(self, window):
        """
        Adapt to a window and measure the losses.

        :return: (Adapted, loss before, loss after, newest-transition loss of the
            previous update, adaptation ms)
        :raises ValueError: when the adapted model is not finite (the session then
            starts over from theta*).
        """
        start = time.perf_counter()
        adapted = self.session.step(window)
        if self.device.type == 'cuda':
            torch.cuda.synchronize()
        adapt_ms = (time.perf_counter() - start) * 1e3
        before, after = self.session.errors(adapted, window.states, window.actions)
        with torch.no_grad():
            newest = Window(window.states[-2:], window.actions[-1:])
            forward = float('nan') if self.previous is None else float(
                window_loss(self.model, self.previous.params, newest, self.previous.context))
        return adapted, before, after, forward, adapt_ms


def main(args=None):
    """Run the node until shutdown."""
    return run_node(AdaptiveDynamicsNode, args)
