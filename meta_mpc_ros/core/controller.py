"""
The model-predictive controller: a planner, the latest adapted model, and the task.

Both the mppi_controller_node and in-process evaluation use this class, so a live run
and `meta-mpc evaluate` make the same decisions from the same inputs. Each `act`:

    1. picks the dynamics: the latest adapted model if it is fresh, else theta*
       (the fallback the design asks for when the model is stale or missing);
    2. projects the robot onto the reference path (if the task has one) and takes the
       segment ahead as the cost's context;
    3. plans and returns the first action with the plan and the sampled rollouts.
"""

from dataclasses import dataclass, field, fields
import math
import time

from meta_mpc_ros.core.adapters import Adapted
from meta_mpc_ros.core.costs import CostContext
from meta_mpc_ros.core.planning.mppi import MPPI, MPPIConfig
from meta_mpc_ros.core.planning.sampling import (CEM, CEMConfig, RandomShooting,
                                                 RandomShootingConfig)
from meta_mpc_ros.core.predictor import planning_dtype, Predictor
from meta_mpc_ros.core.reference import PathTracker
import numpy as np
import torch


@dataclass(frozen=True)
class PlannerSpec:
    """
    One registered planner.

    :param build: (ControllerConfig, cost, action_low, action_high, state_dim, generator,
        device) -> a planner with `plan(dynamics, state, context) -> PlanResult` and
        `reset()` (core.planning.common.SamplingPlanner is the base to start from).
    :param description: one line for help texts.
    :param settings: the planner's settings dataclass, or None. Its fields that
        ControllerConfig does not hold are the planner's own settings (`own_settings`):
        ControllerConfig.planners sets them, the controller node declares them as
        `planner.<name>.<setting>`, and `build` reads them with `config.own(name)`.
    """

    build: object
    description: str
    settings: type = None


# The planner registry: name -> PlannerSpec, whose planners are core.interfaces.Planner.
# ControllerConfig, the controller node's `planner` and `planner.<name>.*` parameters
# and the CLI read it.
PLANNERS = {
    'mppi': PlannerSpec(
        lambda config, *args: MPPI(MPPIConfig(
            num_samples=config.num_samples, horizon=config.horizon,
            iterations=config.iterations, temperature=config.temperature,
            noise_sigma=tuple(config.noise_sigma),
            smoothing_window=config.smoothing_window, **config.own('mppi')), *args),
        'MPPI (the paper): cost-weighted average of perturbed sequences', MPPIConfig),
    'random_shooting': PlannerSpec(
        lambda config, *args: RandomShooting(RandomShootingConfig(
            num_samples=config.num_samples, horizon=config.horizon,
            **config.own('random_shooting')), *args),
        'random shooting (the official code): the best of uniform sequences',
        RandomShootingConfig),
    'cem': PlannerSpec(
        lambda config, *args: CEM(CEMConfig(
            num_samples=config.num_samples, horizon=config.horizon,
            iterations=max(config.iterations, 2), **config.own('cem')), *args),
        'cross-entropy method: refit a Gaussian to the elite sequences', CEMConfig),
}
# A state entry beyond this (m, m/s, rad/s) is not a robot's: refused before planning,
# well inside float32 (an overflow there turns the whole plan into NaN).
MAX_STATE_MAGNITUDE = 1e6
# A closed path (the figure-8) is followed again and again, up to this many laps.
CLOSED_PATH_LAPS = 1000


def own_settings(planner):
    """
    Return a planner's own settings: name -> default (the dataclass's).

    They are the fields of its PlannerSpec.settings that ControllerConfig does not
    hold (MPPI's `warm_start`, CEM's `elite_fraction`, ...); the shared ones (K, H, ...)
    are ControllerConfig's.

    :param planner: a key of PLANNERS.
    """
    settings = PLANNERS[planner].settings
    if settings is None:
        return {}
    shared = {item.name for item in fields(ControllerConfig)}
    return {item.name: item.default for item in fields(settings) if item.name not in shared}


@dataclass(frozen=True)
class ControllerConfig:
    """
    Planner and fallback settings.

    :param planner: a key of PLANNERS.
    :param noise_sigma: (nu,) MPPI perturbation std, action units.
    :param dtype: 'float32' or 'bfloat16' for the model during planning.
    :param lookahead_m: length of the path segment the cost sees; keep it above
        horizon x control period x top speed.
    :param path_stride: keep every n-th path point in the cost (fewer distances).
    :param model_timeout_s: an adapted model older than this is not used (theta* is).
    :param planners: each planner's own settings (`own_settings`), planner name ->
        {setting: value}; what is not given keeps the planner's default. Stored
        complete, for every registered planner, so that equal settings compare equal.
    """

    planner: str = 'mppi'
    num_samples: int = 500
    horizon: int = 15
    iterations: int = 1
    temperature: float = 0.05
    noise_sigma: tuple = (6.0, 6.0)
    smoothing_window: int = 1
    dtype: str = 'bfloat16'
    lookahead_m: float = 1.0
    path_stride: int = 2
    model_timeout_s: float = 1.0
    seed: int = 0
    planners: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.planner not in PLANNERS:
            raise ValueError(f'planner must be one of {tuple(PLANNERS)}')
        if self.dtype not in ('float32', 'bfloat16'):
            raise ValueError('dtype must be float32 or bfloat16')
        if not self.lookahead_m > 0.0 or self.path_stride < 1 or not self.model_timeout_s > 0:
            raise ValueError('lookahead_m, path_stride and model_timeout_s must be positive')
        given = dict(self.planners or {})
        unknown = sorted(set(given) - set(PLANNERS))
        if unknown:
            raise ValueError(f'planners: unknown planners {unknown}; known: {sorted(PLANNERS)}')
        complete = {}
        for name in PLANNERS:
            defaults = own_settings(name)
            settings = dict(given.get(name) or {})
            unknown = sorted(set(settings) - set(defaults))
            if unknown:
                raise ValueError(f'planners: {name} has no own settings {unknown}; its own: '
                                 f'{sorted(defaults)}')
            complete[name] = dict(defaults, **settings)
        object.__setattr__(self, 'planners', complete)

    def own(self, planner):
        """Return the own settings (name -> value) of a planner, for its PlannerSpec.build."""
        return dict(self.planners.get(planner) or own_settings(planner))


def make_planner(config, cost, action_spec, state_dim, device='cpu'):
    """Build the planner named in a ControllerConfig (a key of PLANNERS)."""
    generator = torch.Generator(device).manual_seed(config.seed)
    return PLANNERS[config.planner].build(config, cost, action_spec.low, action_spec.high,
                                          state_dim, generator, device)


@dataclass
class ControlResult:
    """One control decision and what explains it."""

    action: np.ndarray          # (nu,)
    plan_states: np.ndarray     # (H + 1, nx)
    rollouts: torch.Tensor      # (K, H + 1, nx), for display (thin before sending)
    costs: torch.Tensor         # (K,)
    fallback: bool              # theta* used because the adapted model is stale/missing
    model_version: int
    model_age_s: float
    compute_ms: float
    path_index: int
    path_distance: float


class MPCController:
    """
    Plan with the freshest model along the task.

    :param model: DynamicsModel (normalisation and architecture).
    :param meta_params: theta*, used until (and whenever) no fresh adaptation exists.
    :param meta_context: ReBAL's context for theta* (zeros), or None.
    :param cost: TrajectoryCost.
    :param state_spec: StateSpec (x, y, cos_yaw, sin_yaw entries for path tasks).
    :param action_spec: ActionSpec (bounds).
    :param config: ControllerConfig.
    """

    def __init__(self, model, meta_params, meta_context, cost, state_spec, action_spec,
                 config, device='cpu'):
        self.model = model
        self.config = config
        self.device = torch.device(device)
        self.state_spec = state_spec
        self.dtype = planning_dtype(config.dtype, self.device)
        self.cost = cost
        self.planner = make_planner(config, cost, action_spec, state_spec.dim, device)
        self.meta_predictor = Predictor(model, Adapted(meta_params, meta_context), self.dtype)
        self.adapted_predictor = None
        self.model_version = 0
        self.model_stamp = None
        self.tracker = None
        self.previous_action = torch.as_tensor(
            action_spec.low, dtype=torch.float32, device=self.device).clone()
        self.uses_path = any(getattr(term, 'reads_path', False) for term in cost.terms)

    def set_path(self, path):
        """Follow a new ReferencePath from its start (a closed one lap after lap)."""
        self.tracker = PathTracker(path, laps=CLOSED_PATH_LAPS)
        self.planner.reset()

    def set_model(self, adapted, version, stamp):
        """Use an adapted model from now on; `stamp` (s) dates it for the timeout."""
        self.adapted_predictor = Predictor(self.model, adapted, self.dtype)
        self.model_version = version
        self.model_stamp = stamp

    def check_update(self, version, stamp, now):
        """
        Refuse an adapted-model update that is not newer than the one in use, or stale.

        Updates are dated by their own stamp (the newest state of their window), so a
        replayed or delayed update is not mistaken for a fresh one.

        :param version: the update's version (only reported).
        :param stamp: the update's stamp, s.
        :param now: current time, s (the stamps' clock).
        :raises ValueError: with the reason.
        """
        timeout = self.config.model_timeout_s
        if not math.isfinite(stamp):
            raise ValueError(f'model update v{version} has no valid stamp')
        if self.model_stamp is not None and stamp <= self.model_stamp:
            raise ValueError(f'model update v{version} stamped {stamp:.3f} s is not newer '
                             f'than the model in use ({self.model_stamp:.3f} s): replayed?')
        if now - stamp > timeout:
            raise ValueError(f'model update v{version} is {now - stamp:.3f} s old '
                             f'(model_timeout_s {timeout})')
        if stamp - now > timeout:
            raise ValueError(f'model update v{version} is stamped {stamp - now:.3f} s '
                             'in the future')

    def model_age(self, now):
        """Return the age (s) of the adapted model, inf when there is none."""
        return math.inf if self.model_stamp is None else now - self.model_stamp

    def falls_back(self, now):
        """Return True when a plan at `now` would use theta* (no adapted model, or stale)."""
        return self.adapted_predictor is None or \
            self.model_age(now) > self.config.model_timeout_s

    def context(self, state):
        """Return the CostContext for a state (projecting it onto the path)."""
        context = CostContext(previous_action=self.previous_action)
        if not self.uses_path:
            return context, -1, 0.0
        if self.tracker is None:
            raise ValueError('this task needs a reference path and none was given')
        x, y = (self.state_spec.index('x'), self.state_spec.index('y'))
        index, distance = self.tracker.project(state[[x, y]])
        points, headings, along = self.tracker.local_segment(self.config.lookahead_m)
        stride = self.config.path_stride
        as_tensor = {'dtype': torch.float32, 'device': self.device}
        context.path_points = torch.as_tensor(points[::stride], **as_tensor)
        context.path_headings = torch.as_tensor(headings[::stride], **as_tensor)
        context.path_arclength = torch.as_tensor(along[::stride], **as_tensor)
        return context, index, distance

    def act(self, state, now):
        """
        Decide the action for a state.

        A plan that is not finite (a diverging adapted model) is discarded with that
        model, and theta* plans instead; the planner's warm start is forgotten.

        :param state: (nx,) numpy array (finite).
        :param now: current time, s (same clock as set_model stamps).
        :return: ControlResult
        :raises ValueError: for a state out of range, or when no finite plan exists.
        """
        start = time.perf_counter()
        state = np.asarray(state, dtype=np.float64)
        if state.shape != (self.state_spec.dim,) or not np.all(
                np.abs(state) <= MAX_STATE_MAGNITUDE):
            raise ValueError(f'state out of range (each entry within +-{MAX_STATE_MAGNITUDE:g}'
                             f' and finite): {state}')
        age = self.model_age(now)
        fallback = self.falls_back(now)
        dynamics = self.meta_predictor if fallback else self.adapted_predictor
        context, index, distance = self.context(state)
        tensor = torch.as_tensor(state, dtype=torch.float32, device=self.device)
        result = self.planner.plan(dynamics, tensor, context)
        if not _finite_plan(result) and not fallback:
            self.planner.reset()
            self.adapted_predictor = None
            fallback = True
            result = self.planner.plan(self.meta_predictor, tensor, context)
        if not _finite_plan(result):
            self.planner.reset()
            raise ValueError('the plan is not finite (the model diverges from this state)')
        self.previous_action = result.action
        if self.device.type == 'cuda':
            torch.cuda.synchronize()
        return ControlResult(result.action.cpu().numpy().astype(np.float64),
                             result.states.float().cpu().numpy(), result.rollouts,
                             result.costs, fallback, self.model_version, age,
                             (time.perf_counter() - start) * 1e3, index, distance)


def _finite_plan(result):
    """Return True when a PlanResult's action and planned states are all finite."""
    return bool(torch.isfinite(result.action).all()) and bool(
        torch.isfinite(result.states.float()).all())
