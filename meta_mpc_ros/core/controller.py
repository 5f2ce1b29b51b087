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

from collections.abc import Mapping
from dataclasses import dataclass, field
import math
import time

from meta_mpc_ros.core.adapters import Adapted
from meta_mpc_ros.core.costs import CostContext
from meta_mpc_ros.core.planning.mppi import MPPI, MPPISettings
from meta_mpc_ros.core.planning.sampling import CEM, CEMSettings, RandomShooting
from meta_mpc_ros.core.predictor import planning_dtype, Predictor
from meta_mpc_ros.core.reference import PathTracker
from meta_mpc_ros.core.settings import field_names, own_settings, settings_from_mapping
import numpy as np
import torch


@dataclass(frozen=True)
class PlannerSpec:
    """
    One registered planner.

    :param build: called with keywords only: settings (an instance of `settings`, or
        None), num_samples (K), horizon (H), cost, action_low, action_high, state_dim,
        generator and device; returns a planner with `plan(dynamics, state, context) ->
        PlanResult` and `reset()` (core.planning.common.SamplingPlanner, whose
        constructor takes exactly these, is the base to start from).
    :param description: one line for help texts.
    :param settings: the planner's own settings, a frozen dataclass whose docstring
        documents each field with a `:param name:` line and whose `__post_init__`
        checks them (the robot YAML's `controller: planners: <name>:`, the node's
        `planner.<name>.<setting>`; its class attribute `dynamic` names those that may
        change while the node runs), or None.
    """

    build: object
    description: str
    settings: type = None


# The planner registry: name -> PlannerSpec, whose planners are core.interfaces.Planner.
# ControllerConfig, the controller node's `planner` and `planner.<name>.*` parameters
# and the CLI read it.
PLANNERS = {
    'mppi': PlannerSpec(MPPI, 'MPPI (the paper): cost-weighted average of perturbed sequences',
                        MPPISettings),
    'random_shooting': PlannerSpec(
        RandomShooting, 'random shooting (the official code): the best of uniform sequences'),
    'cem': PlannerSpec(CEM, 'cross-entropy method: refit a Gaussian to the elite sequences',
                       CEMSettings),
}
# The flat names that planner settings had in the controller section before each
# planner owned its own, as older robot YAMLs and run records spell them: flat name ->
# the (planner, setting) pairs it sets. The shared `iterations` was MPPI's and, at
# least 2, CEM's (FLAT_MINIMUM).
FLAT_SETTING_NAMES = {'iterations': (('mppi', 'iterations'), ('cem', 'iterations')),
                      'temperature': (('mppi', 'temperature'),),
                      'noise_sigma': (('mppi', 'noise_sigma'),),
                      'smoothing_window': (('mppi', 'smoothing_window'),)}
FLAT_MINIMUM = {('cem', 'iterations'): 2}
# A state entry beyond this (m, m/s, rad/s) is not a robot's: refused before planning,
# well inside float32 (an overflow there turns the whole plan into NaN).
MAX_STATE_MAGNITUDE = 1e6
# A closed path (the figure-8) is followed again and again, up to this many laps.
CLOSED_PATH_LAPS = 1000


def _spec(name):
    """Return PLANNERS[name], or raise a ValueError that lists the planners."""
    if name not in PLANNERS:
        raise ValueError(f'planner must be one of {tuple(PLANNERS)}, got {name!r}')
    return PLANNERS[name]


def planner_settings(name, settings=None):
    """
    Return the own settings of PLANNERS[name] from None, a mapping or its dataclass.

    As core.settings.own_settings: None for a planner without settings, else an
    instance of its PlannerSpec.settings; ValueError (one line) for an unknown planner
    or setting, a value out of range or another planner's settings.
    """
    return own_settings(_spec(name).settings, settings, f'planner {name}')


def setting_names(name):
    """Return the names of a planner's own settings (a tuple, empty without any)."""
    return field_names(_spec(name).settings)


@dataclass(frozen=True)
class ControllerConfig:
    """
    The controller's settings: the planner, what every planner shares, and the fallback.

    K and H stay here: every planner samples K sequences over H steps (and the cost,
    the lookahead and the open-loop error read H). What one planner alone reads is its
    own (`planners`).

    :param planner: a key of PLANNERS.
    :param num_samples: K, the sampled action sequences per step, >= 2.
    :param horizon: H, the planned steps (of one control period each), >= 1.
    :param dtype: 'float32' or 'bfloat16' for the model during planning.
    :param lookahead_m: length of the path segment the cost sees; keep it above
        horizon x control period x top speed.
    :param path_stride: keep every n-th path point in the cost (fewer distances).
    :param model_timeout_s: an adapted model older than this is not used (theta* is).
    :param seed: seeds the planner's generator.
    :param planners: each planner's own settings (`planner_settings`), planner name ->
        a mapping {setting: value} (the rest keep the planner's defaults) or its
        settings dataclass. Stored complete, as settings dataclasses, for every
        registered planner that has settings, so that equal settings compare equal.
    """

    planner: str = 'mppi'
    num_samples: int = 500
    horizon: int = 15
    dtype: str = 'bfloat16'
    lookahead_m: float = 1.0
    path_stride: int = 2
    model_timeout_s: float = 1.0
    seed: int = 0
    planners: dict = field(default_factory=dict)

    def __post_init__(self):
        _spec(self.planner)
        if self.num_samples < 2 or self.horizon < 1:
            raise ValueError('need num_samples >= 2 and horizon >= 1')
        if self.dtype not in ('float32', 'bfloat16'):
            raise ValueError('dtype must be float32 or bfloat16')
        if not self.lookahead_m > 0.0 or self.path_stride < 1 or not self.model_timeout_s > 0:
            raise ValueError('lookahead_m, path_stride and model_timeout_s must be positive')
        given = dict(self.planners or {})
        unknown = sorted(set(given) - set(PLANNERS))
        if unknown:
            raise ValueError(f'planners: unknown planners {unknown}; known: {sorted(PLANNERS)}')
        complete = {name: planner_settings(name, given.get(name)) for name in PLANNERS}
        object.__setattr__(self, 'planners', {name: settings for name, settings in
                                              complete.items() if settings is not None})

    def own(self, planner):
        """Return a planner's own settings (its dataclass), None for one without any."""
        return self.planners.get(planner) or planner_settings(planner)


def controller_from_mapping(data, where):
    """
    Return the ControllerConfig of a robot YAML's `controller:` section (or a record's).

    Planner settings spelled flat (FLAT_SETTING_NAMES: `temperature`, `noise_sigma`,
    `smoothing_window`, `iterations`), as before each planner owned its own, still
    load into `planners`; the same setting given both ways is refused.

    :param data: setting -> value, with `planners: {name: {setting: value}}`; None: the
        defaults.
    :param where: what the mapping is, to start the error message with.
    :raises ValueError: one line, for an unknown key, planner or setting, a value out
        of range, or a setting given twice.
    """
    if not isinstance(data, Mapping):
        return settings_from_mapping(ControllerConfig, data, where)
    rest = {key: value for key, value in data.items() if key not in FLAT_SETTING_NAMES}
    planners = rest.get('planners')
    if planners is not None and not (isinstance(planners, Mapping) and all(
            isinstance(value, Mapping) or value is None for value in planners.values())):
        raise ValueError(f'{where}: planners: expected a mapping planner -> settings')
    given = {name: dict(settings or {}) for name, settings in (planners or {}).items()}
    for key, value in data.items():
        for planner, setting in FLAT_SETTING_NAMES.get(key, ()):
            if setting in given.get(planner, {}):
                raise ValueError(f'{where}: {key} given twice (also as planners: {planner}: '
                                 f'{setting})')
            minimum = FLAT_MINIMUM.get((planner, setting))
            given.setdefault(planner, {})[setting] = value if minimum is None or not \
                isinstance(value, int) else max(value, minimum)
    if given:
        rest['planners'] = given
    return settings_from_mapping(ControllerConfig, rest, where)


def make_planner(config, cost, action_spec, state_dim, device='cpu'):
    """Build the planner named in a ControllerConfig (a key of PLANNERS)."""
    generator = torch.Generator(device).manual_seed(config.seed)
    return PLANNERS[config.planner].build(
        settings=config.own(config.planner), num_samples=config.num_samples,
        horizon=config.horizon, cost=cost, action_low=action_spec.low,
        action_high=action_spec.high, state_dim=state_dim, generator=generator,
        device=device)


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
