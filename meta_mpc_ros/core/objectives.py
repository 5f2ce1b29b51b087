"""
Training objectives of MB, GrBAL and ReBAL on a batch of M-past / K-future windows.

GrBAL (MAML with a learned step size psi, after Finn et al. and Li et al.):

    theta'_j = theta - psi * grad_theta L(past_j; theta)
    loss     = mean_j L(future_j; theta'_j)

batched over the B windows with per-window weights (core.per_window); second order
unless `first_order`, in which case the inner gradient is treated as a constant. ReBAL
scores the future with the context its encoder reads from the past (trained on every
history length from 0 to M when the batch says so, so that an episode's first steps
have a context the model has seen). MB fits all M+K transitions with theta directly.
Every objective scores its transitions one step ahead (the paper's setting,
`rollout_steps` R = 1) or by open-loop rollouts over chunks of R executed actions, as
the planner uses the model (core.per_window.rollout_errors). The continual adapter's
psi is meta-learned by unrolling U consecutive online steps on one stretch of
trajectory (per_window.continual_future_losses).

METHODS is the registry of training methods: name -> TrainingMethod (its objective, a
core.interfaces.TrainingObjective; whether it learns psi; how many extra past
transitions its windows need). The trainer, the `meta-mpc train --method` choices and
the checkpoints read it.
"""

from dataclasses import dataclass

from meta_mpc_ros.core.adapters import Window
from meta_mpc_ros.core.per_window import (adapted_future_losses, continual_future_losses,
                                          rollout_errors)
import torch
from torch.func import functional_call


def sequence_loss(model, params, states, actions, context=None, rollout_steps=1):
    """
    Return the loss of theta (and a context) on sequences of transitions (a scalar).

    :param states: (B, T+1, nx);  actions: (B, T, nu).
    :param context: (B, context_dim) or None.
    :param rollout_steps: R; 1 is the one-step normalised MSE, else open-loop rollouts
        over chunks of R (core.per_window.rollout_errors).
    """
    if context is not None:
        context = context[:, None, :]
    if rollout_steps == 1:
        return model.loss(params, states[:, :-1], actions, states[:, 1:], context)
    return rollout_errors(
        model, lambda state, action: functional_call(model, params, (state, action, context)),
        states, actions, rollout_steps).mean()


def mb_objective(model, params, batch, rollout_steps=1):
    """Return the loss over all M+K transitions of each window (a scalar)."""
    return sequence_loss(model, params, batch.states, batch.actions,
                         rollout_steps=rollout_steps)


def grbal_objective(model, params, step_size, batch, first_order=False, rollout_steps=1):
    """
    Return the post-adaptation loss on the K future transitions (a scalar).

    :param params: name -> tensor, theta (requires grad during meta-training).
    :param step_size: a StepSize, a name -> tensor psi, or a scalar tensor.
    :param batch: WindowBatch.
    :param first_order: ignore second derivatives (first-order MAML).
    :param rollout_steps: R, how the future is scored (see sequence_loss).
    """
    return adapted_future_losses(model, params, step_size, batch, first_order,
                                 rollout_steps).mean()


def continual_objective(*, model, params, step_size, batch, first_order, config):
    """
    Return the mean loss of U unrolled online steps of the continual adapter (a scalar).

    :param batch: WindowBatch whose windows span M + U - 1 past and K future transitions
        (the sampler of a 'continual' Trainer cuts them so).
    :param config: TrainingConfig (past_steps M, future_steps K, unroll_steps U,
        continual_decay, rollout_steps R).
    """
    return continual_future_losses(
        model, params, step_size, batch.states, batch.actions, config.past_steps,
        config.future_steps, config.unroll_steps, config.continual_decay, first_order,
        config.rollout_steps).mean()


def rebal_objective(model, params, batch, rollout_steps=1):
    """
    Return the loss on the K future transitions given the past's context (a scalar).

    The encoder reads each window's last `batch.history` transitions (all M when the
    batch has no history lengths); a history of 0 gives the zero context.
    """
    context = model.encode(params, batch.past_states, batch.past_actions, batch.history)
    return sequence_loss(model, params, batch.future_states, batch.future_actions, context,
                         rollout_steps)


# The registered objectives (core.interfaces.TrainingObjective): each names the keyword
# arguments it reads and ignores the rest.
def mb_training_objective(*, model, params, batch, config, **_):
    """Return MB's loss on all M+K transitions, scored over config.rollout_steps."""
    return mb_objective(model, params, batch, config.rollout_steps)


def grbal_training_objective(*, model, params, step_size, batch, first_order, config, **_):
    """Return GrBAL's post-adaptation loss, scored over config.rollout_steps."""
    return grbal_objective(model, params, step_size, batch, first_order, config.rollout_steps)


def rebal_training_objective(*, model, params, batch, config, **_):
    """Return ReBAL's loss given the past's context, scored over config.rollout_steps."""
    return rebal_objective(model, params, batch, config.rollout_steps)


@dataclass(frozen=True)
class TrainingMethod:
    """
    One registered training method.

    :param objective: a core.interfaces.TrainingObjective, called with the keyword
        arguments model, params, step_size, batch, first_order and config; returns a
        scalar loss with a graph.
    :param learns_step_size: psi is trained (and saved) with theta.
    :param needs_context: the model must have a recurrent context (context_dim > 0).
    :param extra_past_steps: config -> how many past transitions beyond M its windows
        hold (the continual method unrolls U - 1 more).
    :param description: one line for help texts.
    :param warm_start: the method whose checkpoint starts its training (as the Makefile's
        models recipe does), or None for training from scratch.
    """

    objective: object
    learns_step_size: bool = False
    needs_context: bool = False
    extra_past_steps: object = lambda config: 0
    description: str = ''
    warm_start: str = None


METHODS = {
    'mb': TrainingMethod(
        mb_training_objective, description='MB: fit all M+K transitions of each window'),
    'grbal': TrainingMethod(
        grbal_training_objective, learns_step_size=True,
        description='GrBAL: one inner step, scored on the future'),
    'rebal': TrainingMethod(
        rebal_training_objective, needs_context=True,
        description='ReBAL: recurrent context of the past'),
    'continual': TrainingMethod(
        continual_objective, learns_step_size=True,
        extra_past_steps=lambda config: config.unroll_steps - 1,
        description='continual: U consecutive online steps unrolled', warm_start='grbal'),
}


def objective(method, model, params, step_size, batch, first_order=False, config=None):
    """Return the objective of `method`, a key of METHODS (a scalar)."""
    if method not in METHODS:
        raise ValueError(f'unknown training method {method!r}')
    if config is None:
        from meta_mpc_ros.core.meta_training import TrainingConfig
        config = TrainingConfig(method=method)
    return METHODS[method].objective(model=model, params=params, step_size=step_size,
                                     batch=batch, first_order=first_order, config=config)


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
