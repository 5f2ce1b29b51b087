"""
Policies that act in an environment in-process.

Random exploration, and the adaptive MPC agent (adapter + MPCController), the
in-process twin of the node graph.

The adaptive agent does per control step what the nodes do between them: append the
last transition to the window, adapt (GrBAL from theta*, DE from its last parameters,
ReBAL's context), hand the adapted model to the controller, and act, holding the
action to the robot's acceleration limits as the controller node does.
"""

from meta_mpc_ros.core.adapters import ADAPTERS, shortest_window, Window
from meta_mpc_ros.core.buffer import TransitionBuffer
from meta_mpc_ros.core.command_limits import CommandLimiter
from meta_mpc_ros.core.controller import MPCController
from meta_mpc_ros.core.costs import build_cost
from meta_mpc_ros.core.session import AdaptationSession
from meta_mpc_ros.shipped import adapter_for
import numpy as np
import torch


def check_adapter(name):
    """Raise ValueError unless `name` is a key of core.adapters.ADAPTERS."""
    if name not in ADAPTERS:
        raise ValueError(f'unknown adapter {name!r}; choose one of {tuple(ADAPTERS)}')


class RandomPolicy:
    """
    Uniform random actions, each held for a random number of steps.

    :param action_spec: ActionSpec (bounds).
    :param rng: numpy Generator.
    :param hold_steps: (low, high) inclusive range of steps to hold an action.
    """

    def __init__(self, action_spec, rng, hold_steps=(1, 5)):
        self.low = np.asarray(action_spec.low)
        self.high = np.asarray(action_spec.high)
        self.rng = rng
        self.hold_steps = hold_steps
        self.remaining = 0
        self.action = None

    def reset(self, env):
        """Start a new episode."""
        self.remaining = 0

    def act(self, state, time):
        """Return the action to apply."""
        if self.remaining <= 0:
            self.action = self.rng.uniform(self.low, self.high)
            self.remaining = int(self.rng.integers(self.hold_steps[0], self.hold_steps[1] + 1))
        self.remaining -= 1
        return self.action.copy()

    def observe(self, state, action, next_state):
        """Random actions learn nothing."""


class AdaptiveAgent:
    """
    Adapt and plan every control step, in-process.

    :param checkpoint: core.checkpoint.Checkpoint (theta*, psi, specs).
    :param adapter_name: a key of core.adapters.ADAPTERS.
    :param controller_config: ControllerConfig.
    :param cost_terms: list of cost-term dicts (the env's `cost_terms()`).
    :param window: M, transitions per adaptation window.
    :param adapter_settings: the adapter's own settings (RobotConfig.adapter_settings).
    :param exploration: std of Gaussian noise added to actions, as a fraction of the
        action range (0 for evaluation; > 0 when collecting data).
    :param rng: numpy Generator for the exploration noise.
    """

    def __init__(self, checkpoint, adapter_name, controller_config, cost_terms, window,
                 adapter_settings, device='cpu', exploration=0.0, rng=None):
        self.checkpoint = checkpoint
        self.model = checkpoint.model
        self.meta_params = checkpoint.params
        self.device = torch.device(device)
        self.adapter = adapter_for(checkpoint, adapter_name, self.meta_params,
                                   adapter_settings)
        self.session = AdaptationSession(self.model, self.adapter, self.meta_params)
        self.meta_context = self.model.null_context(self.device)
        self.cost = build_cost(cost_terms, checkpoint.state_spec)
        self.controller_config = controller_config
        self.window = window
        self.exploration = exploration
        self.rng = rng
        self.low = np.asarray(checkpoint.action_spec.low)
        self.high = np.asarray(checkpoint.action_spec.high)
        self.buffer = TransitionBuffer(window + 2, checkpoint.state_spec.dim,
                                       checkpoint.action_spec.dim)
        self.controller = None
        self.adapted = None
        self.version = 0
        self.limiter = None
        self.control_dt = None

    def reset(self, env):
        """
        Start an episode: fresh controller, empty window, theta* again.

        The actions are held to the acceleration limits of the environment's robot
        (its `robot` description, where it has one) over its control period, from rest.
        """
        limits = getattr(getattr(env, 'robot', None), 'acceleration_limits', ())
        self.limiter = CommandLimiter(self.low, self.high, limits)
        self.control_dt = env.control_dt
        self.controller = MPCController(self.model, self.meta_params, self.meta_context,
                                        self.cost, self.checkpoint.state_spec,
                                        self.checkpoint.action_spec, self.controller_config,
                                        self.device)
        if getattr(env, 'task_path', None) is not None:
            self.controller.set_path(env.task_path)
        self.buffer.clear()
        self.session.reset()
        self.adapted = None

    def observe(self, state, action, next_state):
        """Record a transition (state, action) -> next_state."""
        if len(self.buffer) == 0:
            self.buffer.append(state, action)
        else:
            self.buffer.set_last_action(action)
        self.buffer.append(next_state, np.zeros_like(action))

    def adapt(self):
        """
        Adapt to the current window; return the Adapted model or None.

        The window is the last M transitions, or, for an adapter that reads short
        histories (ReBAL), all there are from the first on.
        """
        size = min(len(self.buffer) - 1, self.window)
        if size < shortest_window(self.adapter, self.window):
            return None
        states, actions = self.buffer.window(size)
        window = Window.from_arrays(states, actions, self.device)
        return self.session.step(window)

    def act(self, state, time):
        """Adapt on the latest window and return the controller's action."""
        adapted = self.adapt()
        if adapted is not None:
            self.version += 1
            self.adapted = adapted
            self.controller.set_model(adapted, self.version, time)
        result = self.controller.act(state, time)
        self.last_result = result
        action = result.action
        if self.exploration > 0.0:
            noise = self.rng.normal(0.0, self.exploration, size=action.shape)
            action = np.clip(action + noise * (self.high - self.low), self.low, self.high)
        return self.limiter(action, self.control_dt)
