"""
Adapters: pure functions from (parameters, recent window) to an adapted predictor.

    MB     no change                                   (the paper's non-adaptive baseline)
    DE     n SGD or Adam steps on the window          (MB + dynamic evaluation)
    GrBAL  theta' = theta* - psi * grad L(window; theta*)   (one meta-learned step)
    ReBAL  context = encoder(window); parameters unchanged
    continual  theta_t = theta_{t-1} - psi * grad L(window; theta_{t-1})
                         - decay * (theta_{t-1} - theta*),
               restarting from theta* when theta_{t-1} predicts the newest,
               not yet fitted transition much worse than theta* does (beyond the
               paper; see docs/RESULTS.md)

A window holds the last M transitions: states (M+1, nx) and actions (M, nu). GrBAL
and ReBAL restart from the meta-parameters theta* at every call, as in the paper; DE
and continual continue from whatever parameters they are given (the caller keeps them).
An adapter whose `reads_short_history` is True (ReBAL, trained on histories of every
length) also adapts on the first, shorter windows of an episode; the others wait for M.

ADAPTERS is the registry: name -> AdapterSpec (how to build it, its own settings,
which training methods' checkpoints can serve it, the first being the one that trains
it); what an adapter must do is core.interfaces.Adapter. Its restart policy is the
adapter's own `restarts_from_meta`, which core.session.AdaptationSession reads.
Everything that offers a choice of adapter (CLI, node parameters, launch arguments,
shipped checkpoints, results) reads the registry; `register_adapter` adds one.

An adapter with settings owns them, as planners and cost terms own theirs: a frozen
dataclass (DynamicEvaluationSettings, ContinualSettings) documents and checks each
one; the robot YAML's `adapters: <name>:` section sets them and the
adaptive_dynamics_node declares them as `adapter.<name>.<setting>`.
"""

from dataclasses import dataclass

from meta_mpc_ros.core.per_window import adapted_parameters
from meta_mpc_ros.core.settings import field_names, own_settings
import torch


# The continual adapter's change detector (ContinualAdapter): a CUSUM of the log-ratio
# of the carried parameters' error to theta*'s on the newest transition. The rule that
# set them: drift 0.2 (about 0.6 standard deviations of that log-ratio on a steady
# world), and the smallest threshold of 0.5, 1, 1.5, 2, 3 that raised no reset on six
# steady episodes of the training terrains (carpet, styrofoam, turf) with the shipped
# model; no held-out condition was looked at.
CHANGE_DRIFT = 0.2
CHANGE_THRESHOLD = 3.0


def shortest_window(adapter, window):
    """Return the fewest transitions `adapter` adapts on, given the full window M."""
    return 1 if getattr(adapter, 'reads_short_history', False) else window


@dataclass(frozen=True)
class Window:
    """The last M transitions: states (M+1, nx) and actions (M, nu), float32 tensors."""

    states: torch.Tensor
    actions: torch.Tensor

    def __post_init__(self):
        if self.states.ndim != 2 or self.actions.ndim != 2:
            raise ValueError('a window holds states (M+1, nx) and actions (M, nu)')
        if len(self.states) != len(self.actions) + 1 or len(self.actions) < 1:
            raise ValueError(f'{len(self.states)} states need {len(self.states) - 1} actions, '
                             f'got {len(self.actions)}')
        if not (torch.isfinite(self.states).all() and torch.isfinite(self.actions).all()):
            raise ValueError('window contains NaN or inf')

    @classmethod
    def from_arrays(cls, states, actions, device='cpu'):
        """Build a window from array-likes."""
        return cls(torch.as_tensor(states, dtype=torch.float32, device=device),
                   torch.as_tensor(actions, dtype=torch.float32, device=device))

    @property
    def size(self):
        """Return M, the number of transitions."""
        return len(self.actions)


@dataclass
class Adapted:
    """
    An adapted predictor: parameters and, for ReBAL, a (context_dim,) context.

    `reset` is True when a continuing adapter went back to theta* on this window;
    `state` is what a continuing adapter hands itself at the next window (the
    continual adapter's change-detector statistic), None for the others.
    """

    params: dict
    context: torch.Tensor = None
    reset: bool = False
    state: object = None


def window_loss(model, params, window, context=None):
    """Return the model's normalised MSE on the window's M transitions (a scalar)."""
    return model.loss(params, window.states[:-1], window.actions, window.states[1:], context)


class MBAdapter:
    """No adaptation: the model trained on all data (the paper's MB baseline)."""

    name = 'mb'
    restarts_from_meta = True
    reads_short_history = False

    def adapt(self, model, params, window):
        """Return the parameters unchanged."""
        return Adapted(params)


# MB+DE's optimizers: name -> torch.optim class.
DE_OPTIMIZERS = {'sgd': torch.optim.SGD, 'adam': torch.optim.Adam}


@dataclass(frozen=True)
class DynamicEvaluationSettings:
    """
    MB+DE's own settings.

    :param steps: gradient steps per window, an integer >= 1.
    :param learning_rate: the optimizer's step size, > 0.
    :param optimizer: the optimizer, sgd or adam (a fresh Adam state each window keeps
        it pure).
    """

    steps: int = 5
    learning_rate: float = 0.003
    optimizer: str = 'sgd'

    def __post_init__(self):
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f'steps must be an integer >= 1, got {self.steps!r}')
        if isinstance(self.learning_rate, bool) or not isinstance(
                self.learning_rate, (int, float)) or not self.learning_rate > 0.0:
            raise ValueError(f'learning_rate must be > 0, got {self.learning_rate!r}')
        if self.optimizer not in DE_OPTIMIZERS:
            raise ValueError(f'optimizer must be one of {tuple(DE_OPTIMIZERS)}, got '
                             f'{self.optimizer!r}')


class DynamicEvaluationAdapter:
    """
    MB+DE: ordinary gradient steps on the recent window (dynamic evaluation).

    :param settings: DynamicEvaluationSettings (steps, learning rate, optimizer).
    """

    name = 'de'
    restarts_from_meta = False
    reads_short_history = False

    def __init__(self, settings=DynamicEvaluationSettings()):
        self.settings = settings

    def adapt(self, model, params, window):
        """Return parameters after `steps` updates on the window, from `params`."""
        weights = {name: value.detach().clone().requires_grad_(True)
                   for name, value in params.items()}
        optimizer = DE_OPTIMIZERS[self.settings.optimizer](list(weights.values()),
                                                           lr=self.settings.learning_rate)
        with torch.enable_grad():
            for _ in range(self.settings.steps):
                optimizer.zero_grad(set_to_none=True)
                window_loss(model, weights, window).backward()
                optimizer.step()
        return Adapted({name: value.detach() for name, value in weights.items()})


class GrBALAdapter:
    """
    GrBAL: one gradient step with a meta-learned step size psi.

    :param step_size: name -> tensor (per-parameter psi) or a scalar tensor.
    """

    name = 'grbal'
    restarts_from_meta = True
    reads_short_history = False

    def __init__(self, step_size):
        self.step_size = step_size

    def adapt(self, model, params, window):
        """Return theta' = theta - psi * grad L(window; theta)."""
        return Adapted(adapted_parameters(model, params, self.step_size, window.states,
                                          window.actions))


class ReBALAdapter:
    """ReBAL: a recurrent encoder summarises the window into a context for the MLP."""

    name = 'rebal'
    restarts_from_meta = True
    reads_short_history = True

    def adapt(self, model, params, window):
        """Return the parameters with the window's context."""
        with torch.no_grad():
            context = model.encode(params, window.states[None], window.actions[None])[0]
        return Adapted(params, context)


@dataclass(frozen=True)
class ContinualSettings:
    """
    The continual adapter's own settings.

    :param decay: pull back toward theta* per step, in [0, 1); the 'continual'
        training method unrolls the adapter with it.
    """

    decay: float = 0.05

    def __post_init__(self):
        if isinstance(self.decay, bool) or not isinstance(self.decay, (int, float)) or \
                not 0.0 <= self.decay < 1.0:
            raise ValueError(f'decay must be in [0, 1), got {self.decay!r}')


class ContinualAdapter:
    """
    Continual adaptation: psi-preconditioned steps carried across control steps.

    Each call steps from the parameters it is given (the caller carries them), pulls
    them back toward theta* by `decay`, and restarts from theta* on a change of world.

    The change detector scores what the carried parameters have not fitted yet: the
    window's newest transition, which the previous window did not hold. Its evidence
    is the log-ratio of the carried parameters' error to theta*'s on that transition,
    accumulated by a one-sided CUSUM (Page's test),

        S_t = max(0, S_{t-1} + log(e_carried / e_theta*) - drift),

    with a reset to theta* (and S = 0) when S_t > threshold. S travels to the next
    window in Adapted.state. (Scoring the whole window, as before, let the 15 of 16
    transitions already fitted hide any change: it never fired.) The defaults come from
    a stated rule, on the training terrains only (docs/RESULTS.md, section 1).

    :param step_size: psi, name -> tensor or a scalar tensor (meta-learned by the
        'continual' training method, or GrBAL's).
    :param meta_params: theta*, name -> tensor.
    :param settings: ContinualSettings (the decay toward theta* per step).
    :param drift: the log-ratio a step must exceed to add evidence, >= 0.
    :param threshold: the evidence that resets, > 0.
    """

    name = 'continual'
    restarts_from_meta = False
    reads_short_history = False

    def __init__(self, step_size, meta_params, settings=ContinualSettings(),
                 drift=CHANGE_DRIFT, threshold=CHANGE_THRESHOLD):
        if not (drift >= 0.0 and threshold > 0.0):
            raise ValueError('need drift >= 0 and threshold > 0')
        self.step_size = step_size
        self.meta_params = meta_params
        self.decay = settings.decay
        self.drift = drift
        self.threshold = threshold

    def evidence(self, model, params, window, previous=0.0):
        """Return the CUSUM statistic after scoring `params` on the newest transition."""
        if params is self.meta_params:
            return 0.0
        newest = Window(window.states[-2:], window.actions[-1:])
        with torch.no_grad():
            ratio = (window_loss(model, params, newest).clamp(min=1e-12)
                     / window_loss(model, self.meta_params, newest).clamp(min=1e-12))
        return max(0.0, previous + float(torch.log(ratio)) - self.drift)

    def adapt(self, model, params, window, state=None):
        """
        Return theta_t from the carried theta_{t-1} (or theta* after a reset).

        :param state: the CUSUM statistic the previous window returned (None: 0).
        """
        evidence = self.evidence(model, params, window, state or 0.0)
        reset = evidence > self.threshold
        if reset:
            params, evidence = self.meta_params, 0.0
        stepped = adapted_parameters(model, params, self.step_size, window.states,
                                     window.actions)
        return Adapted({name: value - self.decay * (params[name] - self.meta_params[name])
                        for name, value in stepped.items()}, reset=reset, state=evidence)


@dataclass(frozen=True)
class AdapterSpec:
    """
    One registered adapter.

    :param build: (step_size, meta_params, settings) -> adapter; settings is an
        instance of `settings` (None when the adapter has none).
    :param checkpoint_methods: training methods (core.objectives.METHODS) whose
        checkpoints can serve it, the first being the one that trains it and that it
        ships with.
    :param description: one line for help texts.
    :param label: its name in result tables and figures (e.g. 'MB+DE').
    :param settings: the adapter's own settings, a frozen dataclass whose docstring
        documents each field with a `:param name:` line and whose `__post_init__`
        checks them (the robot YAML's `adapters: <name>:`, the node's
        `adapter.<name>.<setting>`), or None.
    """

    build: object
    checkpoint_methods: tuple
    description: str
    label: str
    settings: type = None

    @property
    def training_method(self):
        """Return the training method whose objective trains this adapter."""
        return self.checkpoint_methods[0]


def _needs_step_size(step_size, name):
    if step_size is None:
        raise ValueError(f'{name} needs a meta-learned step size psi (a GrBAL or continual '
                         'checkpoint)')
    return step_size


def _needs_meta_params(meta_params, name):
    if meta_params is None:
        raise ValueError(f'{name} needs theta* (meta_params) to pull back toward')
    return meta_params


ADAPTERS = {
    'mb': AdapterSpec(lambda step_size, meta, settings: MBAdapter(),
                      ('mb', 'grbal', 'continual'),
                      "no adaptation (the paper's MB baseline)", 'MB'),
    'de': AdapterSpec(
        lambda step_size, meta, settings: DynamicEvaluationAdapter(settings),
        ('mb', 'grbal', 'continual'), 'MB + dynamic evaluation: SGD steps carried on',
        'MB+DE', DynamicEvaluationSettings),
    'grbal': AdapterSpec(
        lambda step_size, meta, settings: GrBALAdapter(_needs_step_size(step_size, 'grbal')),
        ('grbal', 'continual'), 'GrBAL: one meta-learned step from theta*', 'GrBAL'),
    'rebal': AdapterSpec(lambda step_size, meta, settings: ReBALAdapter(), ('rebal',),
                         'ReBAL: recurrent context from the window', 'ReBAL'),
    'continual': AdapterSpec(
        lambda step_size, meta, settings: ContinualAdapter(
            _needs_step_size(step_size, 'continual'), _needs_meta_params(meta, 'continual'),
            settings),
        ('continual', 'grbal'), 'meta-learned steps carried on, reset on a change of world',
        'Continual', ContinualSettings),
}
# The flat names adapter settings had before each adapter owned its own, as old robot
# YAMLs (`evaluation: de_steps`, `training: continual_decay`) and run records spell
# them: flat name -> (adapter, setting). TrainingConfig.continual_decay keeps its
# flat name: the continual objective unrolls the continual adapter with that setting.
FLAT_SETTING_NAMES = {'de_steps': ('de', 'steps'), 'de_learning_rate': ('de', 'learning_rate'),
                      'de_optimizer': ('de', 'optimizer'),
                      'continual_decay': ('continual', 'decay')}


def _spec(name):
    """Return ADAPTERS[name], or raise a ValueError that lists the adapters."""
    if name not in ADAPTERS:
        raise ValueError(f'unknown adapter {name!r}; choose one of {tuple(ADAPTERS)}')
    return ADAPTERS[name]


def adapter_settings(name, settings=None):
    """
    Return an adapter's own settings, checked.

    :param name: a key of ADAPTERS.
    :param settings: None (the defaults), a mapping setting -> value (the others keep
        their defaults), or an instance of the adapter's settings dataclass.
    :return: an instance of ADAPTERS[name].settings, or None for an adapter without
        settings.
    :raises ValueError: one line, for an unknown adapter or setting or a value out of
        range.
    """
    return own_settings(_spec(name).settings, settings, f'adapter {name}')


def setting_names(name):
    """Return the names of an adapter's own settings (a tuple, empty without any)."""
    return field_names(_spec(name).settings)


def make_adapter(name, step_size=None, meta_params=None, settings=None):
    """
    Build an adapter by name.

    :param name: a key of ADAPTERS.
    :param step_size: psi (required for 'grbal' and 'continual').
    :param meta_params: theta* (required for 'continual').
    :param settings: the adapter's own settings (`adapter_settings`: None, a mapping
        or its settings dataclass).
    :return: an adapter with `adapt(model, params, window) -> Adapted`.
    """
    return _spec(name).build(step_size, meta_params, adapter_settings(name, settings))


def register_adapter(name, spec):
    """
    Add an adapter to ADAPTERS (the CLI, node parameters and launch arguments offer it).

    :param name: the name users choose it by.
    :param spec: AdapterSpec; its `settings` become `adapter.<name>.<setting>` node
        parameters and the robot YAML's `adapters: <name>:` keys.
    :raises ValueError: if the name is taken.
    """
    if name in ADAPTERS:
        raise ValueError(f'adapter {name!r} is registered already')
    ADAPTERS[name] = spec
