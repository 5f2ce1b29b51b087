"""
Model Predictive Path Integral control (Williams et al., 2017), as GrBAL's paper uses.

Each iteration perturbs the nominal action sequence with Gaussian noise, rolls the
K samples through the model, and moves the nominal to the exponentially weighted
average of the samples:

    V_k   = clip(U + eps_k),   eps_k ~ N(0, diag(sigma^2))          k = 1..K
    S_k   = cost(rollout(x, V_k), V_k)
    w_k   = exp(-(S_k - min S) / lambda) / sum_j exp(-(S_j - min S) / lambda)
    U    <- sum_k w_k V_k         (then an optional moving-average smoothing)

The first action of U is applied; U is shifted one step for the next call (warm start).
"""

from dataclasses import dataclass
from typing import ClassVar

from meta_mpc_ros.core.planning.common import (check_state, PlanResult, rollout,
                                               SamplingPlanner)
import torch


@dataclass(frozen=True)
class MPPISettings:
    """
    MPPI's own settings (K and H are the controller's, shared by every planner).

    :param iterations: sample-and-update rounds per control step, an integer >= 1.
    :param temperature: lambda, > 0; lower trusts the best samples more.
    :param noise_sigma: standard deviation of the perturbations per action entry, in
        action units, each > 0 (1 entry: the same for every action).
    :param smoothing_window: moving-average window over time applied to U, >= 1
        (1: none).
    :param include_nominal: make sample 0 the unperturbed nominal sequence.
    :param warm_start: shift U by one step between calls (else restart from the centre).
    """

    # The settings that may change between calls (dynamic node parameters).
    dynamic: ClassVar[tuple] = ('temperature', 'noise_sigma')

    iterations: int = 1
    temperature: float = 0.05
    noise_sigma: tuple = (6.0, 6.0)
    smoothing_window: int = 1
    include_nominal: bool = True
    warm_start: bool = True

    def __post_init__(self):
        if self.iterations < 1:
            raise ValueError(f'iterations must be >= 1, got {self.iterations!r}')
        if not self.temperature > 0.0:
            raise ValueError(f'temperature must be > 0, got {self.temperature!r}')
        if not self.noise_sigma or any(not s > 0.0 for s in self.noise_sigma):
            raise ValueError(f'noise_sigma must be > 0, got {self.noise_sigma!r}')
        if self.smoothing_window < 1:
            raise ValueError(f'smoothing_window must be >= 1, got {self.smoothing_window!r}')


class MPPI(SamplingPlanner):
    """MPPI planner; keyword arguments as SamplingPlanner's, with MPPISettings."""

    fewest_samples = 2

    def __init__(self, **arguments):
        super().__init__(**arguments)
        self.sigma = self._sigma(self.settings.noise_sigma)
        self.nominal = None
        self.reset()

    def _sigma(self, noise_sigma):
        """Return (nu,) the perturbation std of a noise_sigma setting (1 or nu entries)."""
        sigma = torch.as_tensor(noise_sigma, dtype=torch.float32, device=self.device)
        if sigma.numel() not in (1, self.action_dim):
            raise ValueError(f'noise_sigma needs 1 or {self.action_dim} entries')
        return sigma.expand(self.action_dim).clone()

    def reset(self):
        """Forget the warm start: the nominal becomes the centre of the action box."""
        self.nominal = self.bounds.middle.expand(self.horizon, -1).clone()

    def changed_settings(self, name, value):
        """Return the settings with one dynamic setting changed, noise_sigma's size checked."""
        settings = super().changed_settings(name, value)
        self._sigma(settings.noise_sigma)
        return settings

    def set_setting(self, name, value):
        """Change lambda or sigma between calls (dynamic node parameters)."""
        super().set_setting(name, value)
        self.sigma = self._sigma(self.settings.noise_sigma)

    def plan(self, dynamics, state, context):
        """
        Plan from `state` and return the action to apply now.

        :param dynamics: callable (K, nx), (K, nu) -> (K, nx).
        :param state: (nx,) float32 tensor on the planner's device.
        :param context: CostContext for the cost terms.
        :return: PlanResult
        """
        check_state(state, self.state_dim)
        settings = self.settings
        shape = (self.num_samples, self.horizon, self.sigma.shape[0])
        for _ in range(settings.iterations):
            noise = torch.randn(shape, generator=self.generator, device=self.device)
            noise.mul_(self.sigma)
            if settings.include_nominal:
                noise[0] = 0.0
            samples = self.bounds.clamp(self.nominal + noise)
            states = rollout(dynamics, state, samples)
            costs = self.cost(states, samples, context)
            costs = torch.nan_to_num(costs, nan=torch.inf)
            weights = torch.softmax(-(costs - costs.min()) / settings.temperature, dim=0)
            self.nominal = torch.einsum('k,khu->hu', weights, samples)
            if settings.smoothing_window > 1:
                self.nominal = _moving_average(self.nominal, settings.smoothing_window)
        # The plan's states: the weighted mean of the sampled trajectories (no extra
        # rollout of the updated nominal, which would cost H more model calls).
        plan_states = torch.einsum('k,khx->hx', weights, states)
        result = PlanResult(self.nominal[0].clone(), self.nominal.clone(), plan_states,
                            states, costs)
        if settings.warm_start:
            self.nominal = torch.cat([self.nominal[1:], self.nominal[-1:]])
        else:
            self.reset()
        return result


def _moving_average(sequence, window):
    """Return (H, nu) centred moving average along time, with edge replication."""
    left = (window - 1) // 2
    padded = torch.cat([sequence[:1].expand(left, -1), sequence,
                        sequence[-1:].expand(window - 1 - left, -1)])
    return padded.unfold(0, window, 1).mean(-1)
