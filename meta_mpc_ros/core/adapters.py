"""
Adapters: pure functions from (parameters, recent window) to an adapted predictor.

    MB     no change                                   (the paper's non-adaptive baseline)
    DE     n SGD or Adam steps on the window          (MB + dynamic evaluation)
    GrBAL  theta' = theta* - psi * grad L(window; theta*)   (one meta-learned step)
    ReBAL  context = encoder(window); parameters unchanged

A window holds the last M transitions: states (M+1, nx) and actions (M, nu). GrBAL
and ReBAL restart from the meta-parameters theta* at every call, as in the paper; DE
continues from whatever parameters it is given (the caller keeps them).
"""

from dataclasses import dataclass

import torch


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
    """An adapted predictor: parameters and, for ReBAL, a (context_dim,) context."""

    params: dict
    context: torch.Tensor = None


def window_loss(model, params, window, context=None):
    """Return the model's normalised MSE on the window's M transitions (a scalar)."""
    return model.loss(params, window.states[:-1], window.actions, window.states[1:], context)


class MBAdapter:
    """No adaptation: the model trained on all data (the paper's MB baseline)."""

    name = 'mb'
    restarts_from_meta = True

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

    def __init__(self, step_size):
        self.step_size = step_size

    def adapt(self, model, params, window):
        """Return theta' = theta - psi * grad L(window; theta)."""
        return Adapted(inner_step(model, params, self.step_size, window.states,
                                  window.actions, create_graph=False))


class ReBALAdapter:
    """ReBAL: a recurrent encoder summarises the window into a context for the MLP."""

    name = 'rebal'
    restarts_from_meta = True

    def adapt(self, model, params, window):
        """Return the parameters with the window's context."""
        with torch.no_grad():
            context = model.encode(params, window.states[None], window.actions[None])[0]
        return Adapted(params, context)


def inner_step(model, params, step_size, states, actions, create_graph):
    """
    Take GrBAL's inner update on one window.

    :param params: name -> tensor dict, theta.
    :param step_size: name -> tensor (same shapes as params) or a scalar tensor.
    :param states: (M+1, nx).
    :param actions: (M, nu).
    :param create_graph: keep the graph for second-order meta-gradients.
    :return: name -> tensor dict, theta'.
    """
    with torch.enable_grad():
        if not create_graph:
            params = {name: value.detach().requires_grad_(True)
                      for name, value in params.items()}
        loss = model.loss(params, states[:-1], actions, states[1:])
        gradients = torch.autograd.grad(loss, list(params.values()),
                                        create_graph=create_graph)
    adapted = {}
    for (name, value), gradient in zip(params.items(), gradients):
        psi = step_size[name] if isinstance(step_size, dict) else step_size
        adapted[name] = value - psi * gradient
        if not create_graph:
            adapted[name] = adapted[name].detach()
    return adapted


ADAPTERS = ('mb', 'de', 'grbal', 'rebal')


def make_adapter(name, step_size=None, de_steps=1, de_learning_rate=1e-3, de_optimizer='sgd'):
    """
    Build an adapter by name.

    :param name: one of ADAPTERS.
    :param step_size: GrBAL's psi (required for 'grbal').
    :return: an adapter with `adapt(model, params, window) -> Adapted`.
    """
    if name == 'mb':
        return MBAdapter()
    if name == 'de':
        return DynamicEvaluationAdapter(de_steps, de_learning_rate, de_optimizer)
    if name == 'grbal':
        if step_size is None:
            raise ValueError('GrBAL needs the meta-learned step size psi')
        return GrBALAdapter(step_size)
    if name == 'rebal':
        return ReBALAdapter()
    raise ValueError(f'unknown adapter {name!r}; choose one of {ADAPTERS}')
