"""
Random shooting (the official GrBAL code's planner) and the cross-entropy method.

Random shooting draws K action sequences uniformly inside the bounds, rolls them out
and applies the first action of the cheapest. CEM refits a Gaussian to the cheapest
`elite_fraction` of its samples for a few iterations, then applies the mean's first
action, shifting the mean for the next call.
"""

from dataclasses import dataclass

from meta_mpc_ros.core.planning.common import (check_state, PlanResult, rollout,
                                               SamplingPlanner)
import torch


@dataclass(frozen=True)
class RandomShootingConfig:
    """Random shooting settings: K samples over H steps (official: 500-1000, H=10)."""

    num_samples: int = 1000
    horizon: int = 10

    def __post_init__(self):
        if self.num_samples < 1 or self.horizon < 1:
            raise ValueError('need num_samples >= 1 and horizon >= 1')


class RandomShooting(SamplingPlanner):
    """Random-shooting planner; constructor arguments as SamplingPlanner."""

    def reset(self):
        """Nothing to forget: every call samples afresh."""

    def plan(self, dynamics, state, context):
        """Return the PlanResult of the cheapest of K uniform random sequences."""
        check_state(state, self.state_dim)
        shape = (self.config.num_samples, self.config.horizon, self.bounds.low.shape[0])
        unit = torch.rand(shape, generator=self.generator, device=self.device)
        samples = self.bounds.low + unit * (self.bounds.high - self.bounds.low)
        states = rollout(dynamics, state, samples)
        costs = torch.nan_to_num(self.cost(states, samples, context), nan=torch.inf)
        best = int(torch.argmin(costs))
        return PlanResult(samples[best, 0].clone(), samples[best].clone(), states[best],
                          states, costs)


@dataclass(frozen=True)
class CEMConfig:
    """
    Cross-entropy method settings.

    :param elite_fraction: share of samples refitted each iteration.
    :param smoothing: alpha in mean <- alpha * mean + (1 - alpha) * elite mean.
    :param initial_std_fraction: initial std as a fraction of the action range.
    :param warm_start: start from the last mean, shifted by one step (else the centre).
    """

    num_samples: int = 500
    horizon: int = 10
    iterations: int = 5
    elite_fraction: float = 0.1
    smoothing: float = 0.1
    initial_std_fraction: float = 0.5
    warm_start: bool = True

    def __post_init__(self):
        if self.num_samples < 2 or self.horizon < 1 or self.iterations < 1:
            raise ValueError('need num_samples >= 2, horizon >= 1, iterations >= 1')
        if not 0.0 < self.elite_fraction <= 1.0 or not 0.0 <= self.smoothing < 1.0:
            raise ValueError('elite_fraction in (0, 1], smoothing in [0, 1)')
        if not self.initial_std_fraction > 0.0:
            raise ValueError('initial_std_fraction must be positive')


class CEM(SamplingPlanner):
    """Cross-entropy method planner; constructor arguments as SamplingPlanner."""

    def __init__(self, config, cost, action_low, action_high, state_dim, generator,
                 device='cpu'):
        super().__init__(config, cost, action_low, action_high, state_dim, generator, device)
        self.mean = None
        self.reset()

    def reset(self):
        """Restart the sampling distribution at the centre of the action box."""
        self.mean = self.bounds.middle.expand(self.config.horizon, -1).clone()

    def plan(self, dynamics, state, context):
        """Return the PlanResult after `iterations` refits of the sampling Gaussian."""
        check_state(state, self.state_dim)
        config = self.config
        std = (config.initial_std_fraction * (self.bounds.high - self.bounds.low)).expand(
            config.horizon, -1).clone()
        elites = max(1, int(config.elite_fraction * config.num_samples))
        shape = (config.num_samples, config.horizon, self.bounds.low.shape[0])
        for _ in range(config.iterations):
            noise = torch.randn(shape, generator=self.generator, device=self.device)
            samples = self.bounds.clamp(self.mean + std * noise)
            states = rollout(dynamics, state, samples)
            costs = torch.nan_to_num(self.cost(states, samples, context), nan=torch.inf)
            best = torch.topk(costs, elites, largest=False).indices
            elite = samples[best]
            self.mean = (config.smoothing * self.mean
                         + (1.0 - config.smoothing) * elite.mean(0))
            std = (config.smoothing * std
                   + (1.0 - config.smoothing) * elite.std(0, unbiased=False)).clamp_min(1e-6)
        result = PlanResult(self.mean[0].clone(), self.mean.clone(), states[best[0]], states,
                            costs)
        if config.warm_start:
            self.mean = torch.cat([self.mean[1:], self.mean[-1:]])
        else:
            self.reset()
        return result
