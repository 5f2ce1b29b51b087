"""
Planners on tiny known systems.

A double integrator reaches a goal, and a unicycle follows a circle with MPPI's
path-tracking cost. Models are exact (analytic), so any
failure is the planner's.
"""

import math

from meta_mpc_ros.core.costs import build_cost, CostContext
from meta_mpc_ros.core.planning.mppi import MPPI, MPPISettings
from meta_mpc_ros.core.planning.sampling import CEM, CEMSettings, RandomShooting
from meta_mpc_ros.core.reference import PathTracker, ReferencePath
from meta_mpc_ros.core.spaces import StateSpec
import pytest
import torch

DT = 0.1
DOUBLE_INTEGRATOR = StateSpec(('position', 'velocity'), ('m', 'm/s'))
UNICYCLE = StateSpec(('x', 'y', 'cos_yaw', 'sin_yaw'), ('m', 'm', '1', '1'))


def double_integrator(states, actions):
    """Step a double integrator: p' = p + dt v + dt^2/2 a, v' = v + dt a."""
    position, velocity = states[:, 0], states[:, 1]
    acceleration = actions[:, 0]
    return torch.stack([position + DT * velocity + 0.5 * DT * DT * acceleration,
                        velocity + DT * acceleration], dim=-1)


def unicycle(states, actions):
    """Speed v and turn rate w: x' = x + dt v cos, yaw' = yaw + dt w."""
    yaw = torch.atan2(states[:, 3], states[:, 2]) + DT * actions[:, 1]
    return torch.stack([states[:, 0] + DT * actions[:, 0] * states[:, 2],
                        states[:, 1] + DT * actions[:, 0] * states[:, 3],
                        torch.cos(yaw), torch.sin(yaw)], dim=-1)


def goal_planner(kind, seed=0):
    cost = build_cost([{'name': 'goal', 'weight': 1.0, 'entries': ['position', 'velocity'],
                        'terminal_weight': 10.0},
                       {'name': 'control_effort', 'weight': 0.01}], DOUBLE_INTEGRATOR)
    generator = torch.Generator().manual_seed(seed)
    arguments = {'horizon': 20, 'cost': cost, 'action_low': [-1.0], 'action_high': [1.0],
                 'state_dim': 2, 'generator': generator}
    if kind == 'mppi':
        return MPPI(settings=MPPISettings(temperature=0.1, noise_sigma=(0.5,)),
                    num_samples=256, **arguments)
    if kind == 'cem':
        return CEM(settings=CEMSettings(iterations=4), num_samples=128, **arguments)
    return RandomShooting(settings=None, num_samples=1000, **arguments)


@pytest.mark.parametrize('kind', ['mppi', 'cem', 'random_shooting'])
def test_double_integrator_reaches_goal(kind):
    planner = goal_planner(kind)
    context = CostContext(goal=torch.tensor([1.0, 0.0]))
    state = torch.tensor([0.0, 0.0])
    for _ in range(60):
        action = planner.plan(double_integrator, state, context).action
        assert -1.0 <= float(action) <= 1.0
        state = double_integrator(state[None], action[None])[0]
    # Bang-bang from rest covers 1 m in 2 s (p = a t^2 / 4 per half): 6 s is ample.
    assert abs(float(state[0]) - 1.0) < 0.05
    assert abs(float(state[1])) < 0.1


def test_mppi_is_deterministic_with_a_seed():
    context = CostContext(goal=torch.tensor([1.0, 0.0]))
    actions = []
    for _ in range(2):
        planner = goal_planner('mppi', seed=3)
        state = torch.tensor([0.0, 0.0])
        actions.append([planner.plan(double_integrator, state, context).action
                        for _ in range(3)])
    assert all(torch.equal(a, b) for a, b in zip(*actions))


def test_mppi_follows_a_circle():
    path = ReferencePath.make('figure8', scale=1.0)   # its first lobe is a 1 m circle
    tracker = PathTracker(path)
    cost = build_cost([{'name': 'path_tracking', 'weight': 1.0, 'distance': 5.0,
                        'heading': 0.5, 'progress': 5.0},
                       {'name': 'action_rate', 'weight': 0.01}], UNICYCLE)
    planner = MPPI(settings=MPPISettings(temperature=0.05, noise_sigma=(0.3, 1.0)),
                   num_samples=512, horizon=15, cost=cost, action_low=[0.0, -2.0],
                   action_high=[1.0, 2.0], state_dim=4, generator=torch.Generator().manual_seed(0))
    state = torch.tensor([0.0, 0.0, 1.0, 0.0])
    distances, previous = [], torch.zeros(2)
    for _ in range(70):
        points, headings, along = tracker.local_segment(1.5)
        context = CostContext(torch.tensor(points, dtype=torch.float32),
                              torch.tensor(headings, dtype=torch.float32),
                              torch.tensor(along, dtype=torch.float32), previous)
        previous = planner.plan(unicycle, state, context).action
        state = unicycle(state[None], previous[None])[0]
        step = tracker.step_cost(state[:2].numpy(), math.atan2(state[3], state[2]))
        distances.append(step['distance'])
    # At most 1 m/s for 7 s: the 2 pi m lobe can be nearly done; require 80 % of it.
    # (The lookahead, 1.5 m, covers the horizon at full speed: 15 steps x 0.1 m.)
    assert path.arclength[tracker.index] > 0.8 * 2.0 * math.pi
    assert sum(distances) / len(distances) < 0.05


def test_bad_state_is_rejected():
    planner = goal_planner('mppi')
    context = CostContext(goal=torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match='NaN'):
        planner.plan(double_integrator, torch.tensor([math.nan, 0.0]), context)
    with pytest.raises(ValueError, match='shape'):
        planner.plan(double_integrator, torch.zeros(3), context)


def test_a_closed_path_is_followed_lap_after_lap():
    path = ReferencePath.make('figure8', scale=0.5)
    tracker = PathTracker(path, laps=3)
    # Walk the figure-8 three times: the index keeps rising past the first lap's end.
    for lap in range(3):
        for point in path.points[::20]:
            tracker.step_cost(point, 0.0)
    assert tracker.path.arclength[tracker.index] > 2.5 * path.length
    assert not PathTracker(path, laps=3).finished
