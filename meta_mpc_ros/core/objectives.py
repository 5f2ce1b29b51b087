"""
Training objectives of MB, GrBAL and ReBAL on a batch of M-past / K-future windows.

GrBAL (MAML with a learned step size psi, after Finn et al. and Li et al.):

    theta'_j = theta - psi * grad_theta L(past_j; theta)
    loss     = mean_j L(future_j; theta'_j)

batched over the B windows with per-window weights (core.per_window); second order
unless `first_order`, in which case the inner gradient is treated as a constant. ReBAL
scores the future with the context its encoder reads from the past. MB fits all M+K
transitions with theta directly. The continual adapter's psi is meta-learned by
unrolling U consecutive online steps on one stretch of trajectory
(per_window.continual_future_losses).

METHODS is the registry of training methods: name -> TrainingMethod (its objective,
whether it learns psi, how many extra past transitions its windows need). The trainer,
the `meta-mpc train --method` choices and the checkpoints read it.
"""

from dataclasses import dataclass

from meta_mpc_ros.core.adapters import Window
from meta_mpc_ros.core.per_window import adapted_future_losses, continual_future_losses
import torch


def mb_objective(model, params, batch):
    """Return the MSE over all M+K transitions of each window (a scalar)."""
    return model.loss(params, batch.states[:, :-1], batch.actions, batch.states[:, 1:])


def grbal_objective(model, params, step_size, batch, first_order=False):
    """
    Return the post-adaptation loss on the K future transitions (a scalar).

    :param params: name -> tensor, theta (requires grad during meta-training).
    :param step_size: a StepSize, a name -> tensor psi, or a scalar tensor.
    :param batch: WindowBatch.
    :param first_order: ignore second derivatives (first-order MAML).
    """
    return adapted_future_losses(model, params, step_size, batch, first_order).mean()


def continual_objective(model, params, step_size, batch, first_order, config):
    """
    Return the mean loss of U unrolled online steps of the continual adapter (a scalar).

    :param batch: WindowBatch whose windows span M + U - 1 past and K future transitions
        (the sampler of a 'continual' Trainer cuts them so).
    :param config: TrainingConfig (past_steps M, future_steps K, unroll_steps U,
        continual_decay).
    """
    return continual_future_losses(
        model, params, step_size, batch.states, batch.actions, config.past_steps,
        config.future_steps, config.unroll_steps, config.continual_decay, first_order).mean()


def rebal_objective(model, params, batch):
    """Return the loss on the K future transitions given the past's context (a scalar)."""
    context = model.encode(params, batch.past_states, batch.past_actions)
    future = batch.future_states
    return model.loss(params, future[:, :-1], batch.future_actions, future[:, 1:],
                      context[:, None, :])


@dataclass(frozen=True)
class TrainingMethod:
    """
    One registered training method.

    :param objective: (model, params, step_size, batch, first_order, config) -> scalar
        loss with a graph.
    :param learns_step_size: psi is trained (and saved) with theta.
    :param needs_context: the model must have a recurrent context (context_dim > 0).
    :param extra_past_steps: config -> how many past transitions beyond M its windows
        hold (the continual method unrolls U - 1 more).
    :param description: one line for help texts.
    """

    objective: object
    learns_step_size: bool = False
    needs_context: bool = False
    extra_past_steps: object = lambda config: 0
    description: str = ''


METHODS = {
    'mb': TrainingMethod(
        lambda model, params, step_size, batch, first_order, config:
            mb_objective(model, params, batch),
        description='MB: fit all M+K transitions of each window'),
    'grbal': TrainingMethod(
        lambda model, params, step_size, batch, first_order, config:
            grbal_objective(model, params, step_size, batch, first_order),
        learns_step_size=True, description='GrBAL: one inner step, scored on the future'),
    'rebal': TrainingMethod(
        lambda model, params, step_size, batch, first_order, config:
            rebal_objective(model, params, batch),
        needs_context=True, description='ReBAL: recurrent context of the past'),
    'continual': TrainingMethod(
        continual_objective, learns_step_size=True,
        extra_past_steps=lambda config: config.unroll_steps - 1,
        description='continual: U consecutive online steps unrolled'),
}


def objective(method, model, params, step_size, batch, first_order=False, config=None):
    """Return the objective of `method`, a key of METHODS (a scalar)."""
    if method not in METHODS:
        raise ValueError(f'unknown training method {method!r}')
    return METHODS[method].objective(model, params, step_size, batch, first_order, config)


def per_window_errors(model, adapter, params, batch):
    """
    Score the model on each window's K future transitions, before and after adapting.

    :param adapter: an adapter from core.adapters (its `adapt` sees the M past ones).
    :param params: name -> tensor, the parameters adaptation starts from.
    :param batch: WindowBatch.
    :return: (before (B,), after (B,)) normalised MSE per window.
    """
    before, after = [], []
    with torch.no_grad():
        for j in range(len(batch.states)):
            future = batch.future_states[j]
            # ReBAL "before adaptation": a context of zeros (no history read).
            base_context = model.null_context(future.device)
            before.append(model.loss(params, future[:-1], batch.future_actions[j],
                                     future[1:], base_context))
            adapted = adapter.adapt(model, params, Window(batch.past_states[j],
                                                          batch.past_actions[j]))
            after.append(model.loss(adapted.params, future[:-1], batch.future_actions[j],
                                    future[1:], adapted.context))
    return torch.stack(before), torch.stack(after)
