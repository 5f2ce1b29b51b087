"""
Adapted parameters as a small change against theta*: low-rank factors per weight matrix.

The controller already holds theta*, so a model update only needs theta' - theta*.
For a weight matrix W (out, in) that change is sent as factors u (out, r) and v (r, in),
theta'[W] = theta*[W] + u @ v, or as the full adapted matrix where that is smaller
(r (out + in) >= out in) or where no factors exist. Every other parameter (biases, a
recurrent encoder) is sent whole.

    GrBAL      exact, rank <= M. The inner gradient of a linear layer on M transitions
               is G = D^T X (core.per_window), and a factored psi (psi[o, i] = row[o]
               column[i], which is what checkpoints of the factored form hold) scales
               it as diag(row) G diag(column), so
                   theta' - theta* = -(row * D^T) (X * column),   u = -(row * D^T), v = X * column.
               A psi that is not of rank one (the per-parameter form) sends that matrix whole.
    carried    (continual, MB+DE) the change accumulates over many steps and its rank
               grows; it is truncated to a stated rank by a randomized SVD, and the
               relative error ||dW - u v||_F / ||dW||_F is measured, never assumed.

`DELTAS` maps an adapter name to its exact delta; `parameter_delta` picks the exact one
or the truncated one.
"""

from dataclasses import dataclass, field

from meta_mpc_ros.core.adapters import GrBALAdapter
from meta_mpc_ros.core.per_window import (linear_layer_names, no_corrections,
                                          past_statistics, step_for)
import torch

# psi is taken as rank one when row (x) column reproduces it to this relative error.
RANK_ONE_TOLERANCE = 1e-5
# The stated rank of a carried change in model updates: M, the rank of one GrBAL step.
CARRIED_RANK = 16
OVERSAMPLING = 8        # extra columns of the randomized range finder
POWER_ITERATIONS = 2


@dataclass
class ParameterDelta:
    """
    theta' described against theta*.

    :param factors: weight name -> (u (out, r), v (r, in)); theta' = theta* + u @ v.
    :param full: name -> the adapted value itself, for every other parameter.
    :param error: the largest relative Frobenius error of a truncated weight change
        (0 when every factor is exact).
    """

    factors: dict = field(default_factory=dict)
    full: dict = field(default_factory=dict)
    error: float = 0.0

    @property
    def rank(self):
        """Return the largest rank among the factors (0 if none)."""
        return max((u.shape[1] for u, _ in self.factors.values()), default=0)

    def apply(self, meta_params):
        """Return theta' (name -> float32 tensor) from theta* and this delta."""
        params = {name: value.float() for name, value in self.full.items()}
        for name, (u, v) in self.factors.items():
            params[name] = meta_params[name] + u.float() @ v.float()
        return params


def rank_one(psi):
    """
    Return (row (out,), column (in,)) with row[o] column[i] = psi[o, i], or None.

    :param psi: (out, in) positive step sizes.
    """
    if psi.ndim != 2 or not bool((psi > 0).all()):
        return None
    row, column = psi[:, 0], psi[0] / psi[0, 0]
    error = ((row[:, None] * column[None, :] - psi).abs() / psi).max()
    return (row, column) if float(error) <= RANK_ONE_TOLERANCE else None


def _smaller_as_factors(shape, rank):
    """Return True when factors of `rank` hold fewer numbers than the matrix."""
    out, width = shape
    return rank * (out + width) < out * width


def grbal_delta(model, meta_params, step_size, window):
    """
    Return GrBAL's step from theta* on one window as exact rank-M factors.

    :param model: DynamicsModel.
    :param meta_params: theta*, name -> tensor.
    :param step_size: psi (core.per_window.step_for: StepSize, dict or scalar).
    :param window: core.adapters.Window of M transitions.
    :return: ParameterDelta whose apply(theta*) equals GrBALAdapter's theta' to float
        rounding.
    """
    statistics, _ = past_statistics(model, meta_params, step_size, no_corrections(model),
                                    window.states[None], window.actions[None],
                                    create_graph=False)
    delta = ParameterDelta()
    for (weight, bias), (inputs, gradients) in zip(linear_layer_names(model), statistics):
        inputs, gradients = inputs[0], gradients[0]                 # (M, in), (M, out)
        kind, psi = step_for(step_size, weight)
        factored = psi if kind == 'factored' else (
            (psi.expand(1), psi.new_ones(1)) if kind == 'scalar' else rank_one(psi))
        shape = meta_params[weight].shape
        if factored is not None and _smaller_as_factors(shape, len(inputs)):
            row, column = factored
            delta.factors[weight] = (-(gradients * row).transpose(0, 1).contiguous(),
                                     (inputs * column).contiguous())
        else:
            step = psi if kind == 'full' else (
                psi[0][:, None] * psi[1][None, :] if kind == 'factored' else psi)
            delta.full[weight] = meta_params[weight] - step * (gradients.transpose(0, 1)
                                                               @ inputs)
        _, bias_psi = step_for(step_size, bias)
        delta.full[bias] = meta_params[bias] - bias_psi * gradients.sum(0)
    for name, value in meta_params.items():         # e.g. a recurrent encoder
        if name not in delta.factors and name not in delta.full:
            delta.full[name] = value
    delta.full = {name: value.detach() for name, value in delta.full.items()}
    delta.factors = {name: (u.detach(), v.detach()) for name, (u, v) in delta.factors.items()}
    return delta


def truncated_factors(change, rank, generator):
    """
    Return the best rank-`rank` factors of a matrix found by a randomized SVD.

    :param change: (out, in).
    :param rank: r.
    :param generator: torch.Generator on change's device (the random test matrix).
    :return: (u (out, r), v (r, in), relative Frobenius error of u @ v).
    """
    columns = min(rank + OVERSAMPLING, *change.shape)
    test = torch.randn(change.shape[1], columns, generator=generator, device=change.device)
    basis = torch.linalg.qr(change @ test).Q
    for _ in range(POWER_ITERATIONS):
        basis = torch.linalg.qr(change.transpose(0, 1) @ basis).Q
        basis = torch.linalg.qr(change @ basis).Q
    left, values, right = torch.linalg.svd(basis.transpose(0, 1) @ change, full_matrices=False)
    u = (basis @ left[:, :rank]) * values[:rank]
    v = right[:rank].contiguous()
    norm = torch.linalg.norm(change)
    error = float(torch.linalg.norm(change - u @ v) / norm) if float(norm) > 0 else 0.0
    return u.contiguous(), v, error


def truncated_delta(meta_params, params, rank, generator=None):
    """
    Return theta' - theta* with each weight change truncated to `rank` (error measured).

    :param rank: r >= 1; a matrix that factors of rank r would not shrink goes whole.
    :param generator: torch.Generator for the randomized SVD (default: seeded 0, so the
        same parameters always give the same bytes).
    :return: ParameterDelta
    """
    if rank < 1:
        raise ValueError('a truncated delta needs rank >= 1')
    some = next(iter(meta_params.values()))
    generator = generator or torch.Generator(some.device).manual_seed(0)
    delta = ParameterDelta()
    for name, value in params.items():
        value = value.detach()
        if value.ndim == 2 and _smaller_as_factors(value.shape, rank):
            u, v, error = truncated_factors((value - meta_params[name]).float(), rank,
                                            generator)
            delta.factors[name] = (u, v)
            delta.error = max(delta.error, error)
        else:
            delta.full[name] = value
    return delta


# Adapters whose update from theta* has an exact low-rank form:
# name -> (adapter, model, meta_params, window) -> ParameterDelta.
DELTAS = {GrBALAdapter.name: lambda adapter, model, meta_params, window: grbal_delta(
    model, meta_params, adapter.step_size, window)}


def parameter_delta(adapter, model, meta_params, adapted_params, window, rank):
    """
    Return the delta to publish for an adapted model, or None to publish it whole.

    :param adapter: the adapter that produced `adapted_params` (its name picks DELTAS).
    :param adapted_params: theta', name -> tensor.
    :param window: the window it adapted on.
    :param rank: the stated rank of truncated deltas; 0 publishes carried changes whole.
    """
    exact = DELTAS.get(adapter.name)
    if exact is not None:
        return exact(adapter, model, meta_params, window)
    if rank < 1:
        return None
    return truncated_delta(meta_params, adapted_params, rank)
