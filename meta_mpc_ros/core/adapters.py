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

ADAPTERS is the registry: name -> AdapterSpec (how to build it, which training methods'
checkpoints can serve it, the first being the one that trains it). Its restart policy
is the adapter's own `restarts_from_meta`, which core.session.AdaptationSession reads.
Everything that offers a choice of adapter (CLI, node parameters, launch arguments,
shipped checkpoints, results) reads the registry; `register_adapter` adds one.
"""

from dataclasses import dataclass

from meta_mpc_ros.core.per_window import adapted_parameters
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


class DynamicEvaluationAdapter:
    """
    MB+DE: ordinary gradient steps on the recent window (dynamic evaluation).

    :param steps: gradient steps per call.
    :param learning_rate: step size.
    :param optimizer: 'sgd' or 'adam' (a fresh Adam state each call keeps this pure).
    """

    name = 'de'
    restarts_from_meta = False
    reads_short_history = False

    def __init__(self, steps=1, learning_rate=1e-3, optimizer='sgd'):
        if steps < 1 or not learning_rate > 0.0 or optimizer not in ('sgd', 'adam'):
            raise ValueError('need steps >= 1, learning_rate > 0, optimizer sgd or adam')
        self.steps = steps
        self.learning_rate = learning_rate
        self.optimizer = optimizer

    def adapt(self, model, params, window):
        """Return parameters after `steps` updates on the window, from `params`."""
        weights = {name: value.detach().clone().requires_grad_(True)
                   for name, value in params.items()}
        cls = torch.optim.SGD if self.optimizer == 'sgd' else torch.optim.Adam
        optimizer = cls(list(weights.values()), lr=self.learning_rate)
        with torch.enable_grad():
            for _ in range(self.steps):
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
    :param decay: pull toward theta* per step, in [0, 1).
    :param drift: the log-ratio a step must exceed to add evidence, >= 0.
    :param threshold: the evidence that resets, > 0.
    """

    name = 'continual'
    restarts_from_meta = False
    reads_short_history = False

    def __init__(self, step_size, meta_params, decay=0.05, drift=CHANGE_DRIFT,
                 threshold=CHANGE_THRESHOLD):
        if not 0.0 <= decay < 1.0:
            raise ValueError('decay must be in [0, 1)')
        if not (drift >= 0.0 and threshold > 0.0):
            raise ValueError('need drift >= 0 and threshold > 0')
        self.step_size = step_size
        self.meta_params = meta_params
        self.decay = decay
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

    :param build: (step_size, meta_params, settings) -> adapter; settings is a dict of
        de_steps, de_learning_rate, de_optimizer and continual_decay.
    :param checkpoint_methods: training methods (core.objectives.METHODS) whose
        checkpoints can serve it, the first being the one that trains it and that it
        ships with.
    :param description: one line for help texts.
    :param label: its name in result tables and figures (e.g. 'MB+DE').
    """

    build: object
    checkpoint_methods: tuple
    description: str
    label: str

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
        lambda step_size, meta, settings: DynamicEvaluationAdapter(
            settings['de_steps'], settings['de_learning_rate'], settings['de_optimizer']),
        ('mb', 'grbal', 'continual'), 'MB + dynamic evaluation: SGD steps carried on',
        'MB+DE'),
    'grbal': AdapterSpec(
        lambda step_size, meta, settings: GrBALAdapter(_needs_step_size(step_size, 'grbal')),
        ('grbal', 'continual'), 'GrBAL: one meta-learned step from theta*', 'GrBAL'),
    'rebal': AdapterSpec(lambda step_size, meta, settings: ReBALAdapter(), ('rebal',),
                         'ReBAL: recurrent context from the window', 'ReBAL'),
    'continual': AdapterSpec(
        lambda step_size, meta, settings: ContinualAdapter(
            _needs_step_size(step_size, 'continual'), _needs_meta_params(meta, 'continual'),
            settings['continual_decay']),
        ('continual', 'grbal'), 'meta-learned steps carried on, reset on a change of world',
        'Continual'),
}


def make_adapter(name, step_size=None, de_steps=1, de_learning_rate=1e-3, de_optimizer='sgd',
                 meta_params=None, continual_decay=0.05):
    """
    Build an adapter by name.

    :param name: a key of ADAPTERS.
    :param step_size: psi (required for 'grbal' and 'continual').
    :param meta_params: theta* (required for 'continual').
    :return: an adapter with `adapt(model, params, window) -> Adapted`.
    """
    if name not in ADAPTERS:
        raise ValueError(f'unknown adapter {name!r}; choose one of {tuple(ADAPTERS)}')
    return ADAPTERS[name].build(step_size, meta_params, {
        'de_steps': de_steps, 'de_learning_rate': de_learning_rate,
        'de_optimizer': de_optimizer, 'continual_decay': continual_decay})


def register_adapter(name, spec):
    """
    Add an adapter to ADAPTERS (the CLI, node parameters and launch arguments offer it).

    :param name: the name users choose it by.
    :param spec: AdapterSpec.
    :raises ValueError: if the name is taken.
    """
    if name in ADAPTERS:
        raise ValueError(f'adapter {name!r} is registered already')
    ADAPTERS[name] = spec
