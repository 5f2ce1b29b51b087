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

from dataclasses import dataclass, replace

from meta_mpc_ros.core.planning.common import (check_state, PlanResult, rollout,
                                               SamplingPlanner)
import torch


@dataclass(frozen=True)
class MPPIConfig:
    """
    MPPI settings.

    :param num_samples: K.
    :param horizon: H.
    :param iterations: sample-and-update rounds per control step.
    :param temperature: lambda; lower trusts the best samples more.
    :param noise_sigma: (nu,) standard deviation of the perturbations, action units.
    :param smoothing_window: moving-average window over time applied to U (1: none).
    :param include_nominal: make sample 0 the unperturbed nominal sequence.
    :param warm_start: shift U by one step between calls (else restart from the centre).
    """

    num_samples: int = 1000
    horizon: int = 20
    iterations: int = 1
    temperature: float = 1.0
    noise_sigma: tuple = (1.0,)
    smoothing_window: int = 1
    include_nominal: bool = True
    warm_start: bool = True

    def __post_init__(self):
        if self.num_samples < 2 or self.horizon < 1 or self.iterations < 1:
            raise ValueError('need num_samples >= 2, horizon >= 1, iterations >= 1')
        if not self.temperature > 0.0:
            raise ValueError('temperature must be positive')
        if any(not s > 0.0 for s in self.noise_sigma):
            raise ValueError('noise_sigma must be positive')
        if self.smoothing_window < 1:
            raise ValueError('smoothing_window must be >= 1')


class MPPI(SamplingPlanner):
    """MPPI planner; constructor arguments as SamplingPlanner, with an MPPIConfig."""

    def __init__(self, config, cost, action_low, action_high, state_dim, generator,
                 device='cpu'):
        super().__init__(config, cost, action_low, action_high, state_dim, generator, device)
        action_dim = self.action_dim
        sigma = torch.as_tensor(config.noise_sigma, dtype=torch.float32, device=device)
        if sigma.numel() not in (1, action_dim):
            raise ValueError(f'noise_sigma needs 1 or {action_dim} entries')
        self.sigma = sigma.expand(action_dim).clone()
        self.nominal = None
        self.reset()

    def reset(self):
        """Forget the warm start: the nominal becomes the centre of the action box."""
        self.nominal = self.bounds.middle.expand(self.config.horizon, -1).clone()

    def set_temperature(self, temperature):
        """Change lambda between calls (a dynamic parameter)."""
        if not temperature > 0.0:
            raise ValueError('temperature must be positive')
        self.config = replace(self.config, temperature=float(temperature))

    def set_noise_sigma(self, sigma):
        """Change sigma between calls (a dynamic parameter)."""
        sigma = torch.as_tensor(sigma, dtype=torch.float32, device=self.device)
        if sigma.numel() not in (1, self.sigma.numel()) or not bool((sigma > 0).all()):
            raise ValueError('noise_sigma must be positive, 1 or nu entries')
        self.sigma = sigma.expand_as(self.sigma).clone()

    def plan(self, dynamics, state, context):
        """
        Plan from `state` and return the action to apply now.

        :param dynamics: callable (K, nx), (K, nu) -> (K, nx).
        :param state: (nx,) float32 tensor on the planner's device.
        :param context: CostContext for the cost terms.
        :return: PlanResult
        """
        check_state(state, self.state_dim)
        config = self.config
        shape = (config.num_samples, config.horizon, self.sigma.shape[0])
        for _ in range(config.iterations):
            noise = torch.randn(shape, generator=self.generator, device=self.device)
            noise.mul_(self.sigma)
            if config.include_nominal:
                noise[0] = 0.0
            samples = self.bounds.clamp(self.nominal + noise)
            states = rollout(dynamics, state, samples)
            costs = self.cost(states, samples, context)
            costs = torch.nan_to_num(costs, nan=torch.inf)
            weights = torch.softmax(-(costs - costs.min()) / config.temperature, dim=0)
            self.nominal = torch.einsum('k,khu->hu', weights, samples)
            if config.smoothing_window > 1:
                self.nominal = _moving_average(self.nominal, config.smoothing_window)
        # The plan's states: the weighted mean of the sampled trajectories (no extra
        # rollout of the updated nominal, which would cost H more model calls).
        plan_states = torch.einsum('k,khx->hx', weights, states)
        result = PlanResult(self.nominal[0].clone(), self.nominal.clone(), plan_states,
                            states, costs)
        if config.warm_start:
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
