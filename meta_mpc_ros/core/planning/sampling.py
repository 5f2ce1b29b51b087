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


class RandomShooting(SamplingPlanner):
    """Random-shooting planner (K and H its only settings); keywords as SamplingPlanner's."""

    def reset(self):
        """Nothing to forget: every call samples afresh."""

    def plan(self, dynamics, state, context):
        """Return the PlanResult of the cheapest of K uniform random sequences."""
        check_state(state, self.state_dim)
        shape = (self.num_samples, self.horizon, self.bounds.low.shape[0])
        unit = torch.rand(shape, generator=self.generator, device=self.device)
        samples = self.bounds.low + unit * (self.bounds.high - self.bounds.low)
        states = rollout(dynamics, state, samples)
        costs = torch.nan_to_num(self.cost(states, samples, context), nan=torch.inf)
        best = int(torch.argmin(costs))
        return PlanResult(samples[best, 0].clone(), samples[best].clone(), states[best],
                          states, costs)


@dataclass(frozen=True)
class CEMSettings:
    """
    The cross-entropy method's own settings (K and H are the controller's).

    :param iterations: refits of the sampling Gaussian per control step, an integer >= 1.
    :param elite_fraction: share of samples refitted each iteration, in (0, 1].
    :param smoothing: alpha in mean <- alpha * mean + (1 - alpha) * elite mean, in [0, 1).
    :param initial_std_fraction: initial std as a fraction of the action range, > 0.
    :param warm_start: start from the last mean, shifted by one step (else the centre).
    """

    iterations: int = 2
    elite_fraction: float = 0.1
    smoothing: float = 0.1
    initial_std_fraction: float = 0.5
    warm_start: bool = True

    def __post_init__(self):
        if self.iterations < 1:
            raise ValueError(f'iterations must be >= 1, got {self.iterations!r}')
        if not 0.0 < self.elite_fraction <= 1.0:
            raise ValueError(f'elite_fraction must be in (0, 1], got {self.elite_fraction!r}')
        if not 0.0 <= self.smoothing < 1.0:
            raise ValueError(f'smoothing must be in [0, 1), got {self.smoothing!r}')
        if not self.initial_std_fraction > 0.0:
            raise ValueError('initial_std_fraction must be > 0, got '
                             f'{self.initial_std_fraction!r}')


class CEM(SamplingPlanner):
    """Cross-entropy method planner; keyword arguments as SamplingPlanner's, with CEMSettings."""

    fewest_samples = 2

    def __init__(self, **arguments):
        super().__init__(**arguments)
        self.mean = None
        self.reset()

    def reset(self):
        """Restart the sampling distribution at the centre of the action box."""
        self.mean = self.bounds.middle.expand(self.horizon, -1).clone()

    def plan(self, dynamics, state, context):
        """Return the PlanResult after `iterations` refits of the sampling Gaussian."""
        check_state(state, self.state_dim)
        settings = self.settings
        std = (settings.initial_std_fraction * (self.bounds.high - self.bounds.low)).expand(
            self.horizon, -1).clone()
        elites = max(1, int(settings.elite_fraction * self.num_samples))
        shape = (self.num_samples, self.horizon, self.bounds.low.shape[0])
        for _ in range(settings.iterations):
            noise = torch.randn(shape, generator=self.generator, device=self.device)
            samples = self.bounds.clamp(self.mean + std * noise)
            states = rollout(dynamics, state, samples)
            costs = torch.nan_to_num(self.cost(states, samples, context), nan=torch.inf)
            best = torch.topk(costs, elites, largest=False).indices
            elite = samples[best]
            self.mean = (settings.smoothing * self.mean
                         + (1.0 - settings.smoothing) * elite.mean(0))
            std = (settings.smoothing * std
                   + (1.0 - settings.smoothing) * elite.std(0, unbiased=False)).clamp_min(1e-6)
        result = PlanResult(self.mean[0].clone(), self.mean.clone(), states[best[0]], states,
                            costs)
        if settings.warm_start:
            self.mean = torch.cat([self.mean[1:], self.mean[-1:]])
        else:
            self.reset()
        return result
