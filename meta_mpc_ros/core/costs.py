"""
Cost terms for the planners: small named objects, each with a weight.

Every term maps predicted states (K, H+1, nx) and actions (K, H, nu) (shapes in
core.planning) plus a `CostContext` to a (K,) cost; `TrajectoryCost` sums them.
Terms are plugins, as nav2's MPPI critics are: `COST_TERMS` is the registry (name ->
term class; the contract is core.interfaces.CostTerm), and each class lists its own
tunable `settings` (name -> default), which the controller node declares as
`cost.<term>.<setting>` parameters, and says whether it `reads_path` (default False).
Terms are built by name from plain dicts (the robot's YAML, ROS parameters):

    path_tracking     w * sum_t [distance + heading * |heading error|] - w * progress * advance
    forward_velocity  -w * sum_t (s_{t+1}[position] - s_t[position]) / dt   (legged tasks)
    control_effort    w * sum_t |a_t|^2
    action_rate       w * sum_t |a_t - a_{t-1}|^2, with a_{-1} the last applied action
    goal              w * sum_t |p_t - goal|^2 over chosen entries (tests, simple tasks)
"""

from dataclasses import dataclass
import math

import torch


@dataclass
class CostContext:
    """
    What the cost needs besides the trajectories; every field is optional.

    :param path_points: (L, 2) the reference path ahead of the robot, m.
    :param path_headings: (L,) path heading at each point, rad.
    :param path_arclength: (L,) arc length from the robot's tracked point, m.
    :param previous_action: (nu,) the action applied last.
    :param goal: (g,) target values for the goal term.
    """

    path_points: torch.Tensor = None
    path_headings: torch.Tensor = None
    path_arclength: torch.Tensor = None
    previous_action: torch.Tensor = None
    goal: torch.Tensor = None


def nearest_points(points, path):
    """
    Return each point's distance to the nearest path point, and that point's index.

    |p - q|^2 = |p|^2 - 2 p.q + |q|^2 for every pair comes from one matrix product (as
    torch.cdist does, about 4x faster than broadcasting the differences and accurate to
    ~1e-4 m here); the nearest q does not depend on |p|^2, and the square root is only
    taken at the minima, so the (N, L) pairs see one product and one min.

    :param points: (N, 2).
    :param path: (L, 2).
    :return: (distance (N,), index (N,) into path).
    """
    partial = torch.addmm(path.pow(2).sum(-1), points, path.t(), alpha=-2.0)   # (N, L)
    smallest, index = partial.min(-1)
    return (smallest + points.pow(2).sum(-1)).clamp_min_(0.0).sqrt_(), index


class PathTracking:
    """
    Distance to the path, heading error, and progress along it (the paper's path cost).

    :param indices: state positions of (x, y, cos_yaw, sin_yaw).
    """

    name = 'path_tracking'
    settings = {'distance': 1.0, 'heading': 0.1, 'progress': 1.0}
    reads_path = True

    @classmethod
    def build(cls, weight, settings, state_spec):
        """Build from settings: the tunables and `entries` (the x, y, cos, sin names)."""
        entries = settings.pop('entries', ('x', 'y', 'cos_yaw', 'sin_yaw'))
        return cls(weight, state_spec.indices(*entries), **{
            key: settings.pop(key, default) for key, default in cls.settings.items()})

    def __init__(self, weight, indices, distance=1.0, heading=0.1, progress=1.0):
        self.weight = weight
        self.position_index = torch.tensor(indices[:2])
        self.cos_index, self.sin_index = indices[2], indices[3]
        self.distance, self.heading, self.progress = distance, heading, progress

    def __call__(self, states, actions, context):
        """Return (K,) costs; see the module docstring."""
        if context.path_points is None:
            raise ValueError('path_tracking needs a reference path in the CostContext')
        future = states[:, 1:]
        positions = future.index_select(-1, self.position_index.to(states.device))
        distance, nearest = nearest_points(positions.reshape(-1, 2), context.path_points)
        nearest = nearest.view(future.shape[:2])
        distance = distance.view(future.shape[:2])
        yaw = torch.atan2(future[..., self.sin_index], future[..., self.cos_index])
        heading_error = torch.remainder(yaw - context.path_headings[nearest] + math.pi,
                                        2.0 * math.pi) - math.pi
        advance = context.path_arclength[nearest[:, -1]]
        return self.weight * ((self.distance * distance
                               + self.heading * heading_error.abs()).sum(-1)
                              - self.progress * advance)


class ForwardVelocity:
    """Reward forward progress of one state entry per second (legged benchmarks)."""

    name = 'forward_velocity'
    settings = {}

    @classmethod
    def build(cls, weight, settings, state_spec):
        """Build from settings: `position` (a state entry name) and `dt`, s."""
        return cls(weight, state_spec.index(settings.pop('position')),
                   float(settings.pop('dt')))

    def __init__(self, weight, index, dt):
        if not dt > 0.0:
            raise ValueError('forward_velocity needs dt > 0')
        self.weight, self.index, self.dt = weight, index, dt

    def __call__(self, states, actions, context):
        """Return (K,) -w * (s_H - s_0)[index] / dt (the sum of per-step velocities)."""
        return -self.weight * (states[:, -1, self.index] - states[:, 0, self.index]) / self.dt


class WeightOnly:
    """A term with no settings of its own: built from its weight alone."""

    settings = {}

    @classmethod
    def build(cls, weight, settings, state_spec):
        """Build from the weight alone."""
        return cls(weight)

    def __init__(self, weight):
        self.weight = weight


class ControlEffort(WeightOnly):
    """Penalise the squared size of every action."""

    name = 'control_effort'

    def __call__(self, states, actions, context):
        """Return (K,) w * sum of squared actions."""
        return self.weight * actions.pow(2).sum((-1, -2))


class ActionRate(WeightOnly):
    """Penalise squared changes between consecutive actions (and from the last applied)."""

    name = 'action_rate'

    def __call__(self, states, actions, context):
        """Return (K,) w * sum of squared action differences."""
        change = actions[:, 1:] - actions[:, :-1]
        cost = change.pow(2).sum((-1, -2))
        if context.previous_action is not None:
            cost = cost + (actions[:, 0] - context.previous_action).pow(2).sum(-1)
        return self.weight * cost


class Goal:
    """Penalise the squared distance of chosen state entries to a goal, at every step."""

    name = 'goal'
    settings = {'terminal_weight': 0.0}

    @classmethod
    def build(cls, weight, settings, state_spec):
        """Build from settings: `entries` (state entry names) and `terminal_weight`."""
        return cls(weight, state_spec.indices(*settings.pop('entries')),
                   float(settings.pop('terminal_weight', 0.0)))

    def __init__(self, weight, indices, terminal_weight=0.0):
        self.weight = weight
        self.indices = torch.tensor(indices)
        self.terminal_weight = terminal_weight

    def __call__(self, states, actions, context):
        """Return (K,) w * sum_t |s_t[indices] - goal|^2 (+ a terminal term)."""
        chosen = states[:, 1:].index_select(-1, self.indices.to(states.device))
        error = (chosen - context.goal).pow(2).sum(-1)
        return self.weight * error.sum(-1) + self.terminal_weight * error[:, -1]


COST_TERMS = {}


def register_cost_term(term_class):
    """
    Register a cost term class under its `name` (usable as a class decorator).

    A term class has `name`, `settings` (name -> default of each numeric tunable, each
    stored as an attribute of the same name), a `weight` attribute, a classmethod
    `build(weight, settings, state_spec)` that pops what it reads from `settings`, and
    `__call__(states (K, H+1, nx), actions (K, H, nu), context) -> (K,)`.

    :return: the class, unchanged.
    """
    COST_TERMS[term_class.name] = term_class
    return term_class


for _term in (PathTracking, ForwardVelocity, ControlEffort, ActionRate, Goal):
    register_cost_term(_term)


class TrajectoryCost:
    """The weighted sum of named cost terms."""

    def __init__(self, terms):
        names = [term.name for term in terms]
        if len(set(names)) != len(names):
            raise ValueError(f'duplicate cost terms in {names}')
        self.terms = list(terms)

    def __call__(self, states, actions, context):
        """Return (K,) total cost."""
        total = self.terms[0](states, actions, context)
        for term in self.terms[1:]:
            total = total + term(states, actions, context)
        return total

    def breakdown(self, states, actions, context):
        """Return name -> (K,) cost of each term."""
        return {term.name: term(states, actions, context) for term in self.terms}

    def term(self, name):
        """Return the term called `name`."""
        for term in self.terms:
            if term.name == name:
                return term
        raise KeyError(f'no cost term {name!r}')

    def set_weight(self, name, weight):
        """Change one term's weight (a dynamic parameter)."""
        self.set_setting(name, 'weight', weight)

    def set_setting(self, name, key, value):
        """
        Change one term's weight or one of its numeric `settings` (a dynamic parameter).

        :raises KeyError: for an unknown term or setting.
        """
        term = self.term(name)
        if key != 'weight' and key not in term.settings:
            raise KeyError(f'cost term {name!r} has no setting {key!r}')
        setattr(term, key, float(value))


def build_cost(terms, state_spec):
    """
    Build a TrajectoryCost from dicts such as {'name': 'control_effort', 'weight': 0.1}.

    :param terms: list of dicts; 'name' picks the term in COST_TERMS, 'weight' is its
        weight (default 1), other keys are its settings. path_tracking takes
        `distance`, `heading`, `progress` and optional `entries` (default ['x', 'y',
        'cos_yaw', 'sin_yaw']); forward_velocity takes `position` (a state entry name)
        and `dt`; goal takes `entries` and `terminal_weight`.
    :param state_spec: StateSpec, to turn entry names into indices.
    :return: TrajectoryCost
    """
    built = []
    for settings in terms:
        settings = dict(settings)
        name = settings.pop('name', None)
        weight = float(settings.pop('weight', 1.0))
        if not math.isfinite(weight):
            raise ValueError(f'cost term {name!r}: weight must be finite')
        if name not in COST_TERMS:
            raise ValueError(f'unknown cost term {name!r}; known: {sorted(COST_TERMS)}')
        built.append(COST_TERMS[name].build(weight, settings, state_spec))
        if settings:
            raise ValueError(f'cost term {name!r}: unknown settings {sorted(settings)}')
    if not built:
        raise ValueError('a cost needs at least one term')
    return TrajectoryCost(built)
