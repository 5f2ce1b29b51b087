"""Pieces shared by the planners: rollouts, bounds and the plan result."""

from dataclasses import dataclass, replace

import torch


@dataclass
class PlanResult:
    """
    What a planner returns for one control step.

    :param action: (nu,) the action to apply now.
    :param nominal: (H, nu) the planned action sequence (for warm starts and display).
    :param states: (H + 1, nx) the predicted states of the plan.
    :param rollouts: (K, H + 1, nx) every sampled trajectory of the last iteration.
    :param costs: (K,) their costs.
    """

    action: torch.Tensor
    nominal: torch.Tensor
    states: torch.Tensor
    rollouts: torch.Tensor
    costs: torch.Tensor


def rollout(dynamics, state, actions):
    """
    Predict the trajectories of K action sequences from one state.

    :param dynamics: callable (K, nx), (K, nu) -> (K, nx).
    :param state: (nx,).
    :param actions: (K, H, nu).
    :return: (K, H + 1, nx) predicted states, index 0 being `state`.
    """
    num_samples, horizon, _ = actions.shape
    states = torch.empty(num_samples, horizon + 1, state.shape[-1], dtype=state.dtype,
                         device=state.device)
    states[:, 0] = state
    current = states[:, 0]
    for t in range(horizon):
        current = dynamics(current, actions[:, t])
        states[:, t + 1] = current
    return states


class ActionBounds:
    """Lower and upper action limits as (nu,) tensors on the planner's device."""

    def __init__(self, low, high, device='cpu', dtype=torch.float32):
        self.low = torch.as_tensor(low, dtype=dtype, device=device)
        self.high = torch.as_tensor(high, dtype=dtype, device=device)
        if self.low.shape != self.high.shape or self.low.ndim != 1:
            raise ValueError('action bounds must be two (nu,) vectors')
        if not bool((self.low < self.high).all()):
            raise ValueError('every action lower bound must be below its upper bound')

    @property
    def middle(self):
        """Return (nu,) the centre of the box."""
        return 0.5 * (self.low + self.high)

    def clamp(self, actions):
        """Clip actions of any shape (..., nu) into the box."""
        return torch.maximum(torch.minimum(actions, self.high), self.low)


def check_state(state, state_dim):
    """Raise ValueError unless `state` is a finite (nx,) tensor."""
    if state.shape != (state_dim,):
        raise ValueError(f'state must have shape ({state_dim},), got {tuple(state.shape)}')
    if not bool(torch.isfinite(state).all()):
        raise ValueError('state contains NaN or inf')


class SamplingPlanner:
    """
    What every planner holds: its settings, the sizes, the cost, the bounds and the generator.

    Every argument is a keyword (the PlannerSpec.build call of core.controller).

    :param settings: the planner's own settings dataclass (PlannerSpec.settings), or
        None for a planner without any. Its class attribute `dynamic` names the settings
        that may change between calls (`set_setting`).
    :param num_samples: K, the sampled sequences per step.
    :param horizon: H, the planned steps.
    :param cost: TrajectoryCost (core.costs).
    :param action_low: (nu,) lower bounds.
    :param action_high: (nu,) upper bounds.
    :param state_dim: nx.
    :param generator: torch.Generator on `device` (seeded by the caller).
    :param device: torch device of every tensor.
    """

    # The fewest samples the planner works with.
    fewest_samples = 1

    def __init__(self, *, settings, num_samples, horizon, cost, action_low, action_high,
                 state_dim, generator, device='cpu'):
        if num_samples < self.fewest_samples or horizon < 1:
            raise ValueError(f'need num_samples >= {self.fewest_samples} and horizon >= 1')
        self.settings = settings
        self.num_samples = num_samples
        self.horizon = horizon
        self.cost = cost
        self.bounds = ActionBounds(action_low, action_high, device)
        self.state_dim = state_dim
        self.generator = generator
        self.device = torch.device(device)

    @property
    def action_dim(self):
        """Return nu."""
        return self.bounds.low.shape[0]

    def changed_settings(self, name, value):
        """
        Return the settings with one dynamic setting changed (lists become tuples).

        :raises ValueError: for a setting that is not dynamic or a value out of range.
        """
        if name not in getattr(self.settings, 'dynamic', ()):
            raise ValueError(f'{name} is not a dynamic setting of this planner')
        value = tuple(value) if isinstance(value, list) else value
        try:
            return replace(self.settings, **{name: value})
        except TypeError as error:
            raise ValueError(f'{name}: {error}') from None

    def check_setting(self, name, value):
        """Return why a dynamic setting cannot take `value` now, or None."""
        try:
            self.changed_settings(name, value)
        except ValueError as error:
            return str(error)
        return None

    def set_setting(self, name, value):
        """Change a dynamic setting between calls (a dynamic node parameter)."""
        self.settings = self.changed_settings(name, value)
