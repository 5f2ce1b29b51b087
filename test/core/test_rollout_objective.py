"""The multi-step (open-loop rollout) objective and ReBAL's histories of every length."""

from meta_mpc_ros.core.dataset import WindowBatch
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.core.objectives import grbal_objective, mb_objective, rebal_objective
from meta_mpc_ros.core.per_window import adapted_parameters
from meta_mpc_ros.core.step_size import StepSize
import pytest
import torch


def _model(context_dim=0, seed=1):
    config = ModelConfig(3, 2, (1, 2), (12, 10), activation='tanh', context_dim=context_dim)
    return DynamicsModel(config).reset_parameters(torch.Generator().manual_seed(seed))


def _slow_rollout(model, params, states, actions, rollout_steps, context=None):
    """Return the objective one transition at a time, from the truth every R steps."""
    total = 0.0
    for t in range(len(actions)):
        if t % rollout_steps == 0:
            state = states[t]
        state = model.predict(params, state[None], actions[t][None],
                              None if context is None else context[None])[0]
        total = total + ((state - states[t + 1]) / model.delta_std).pow(2).mean()
    return total / len(actions)


@pytest.mark.parametrize('rollout_steps', [1, 3, 8])
def test_mb_rollout_objective_equals_a_slow_loop(rollout_steps):
    model = _model()
    params = dict(model.named_parameters())
    generator = torch.Generator().manual_seed(2)
    batch = WindowBatch(torch.randn(4, 9, 3, generator=generator),
                        torch.randn(4, 8, 2, generator=generator), 4)
    fast = mb_objective(model, params, batch, rollout_steps)
    slow = torch.stack([_slow_rollout(model, params, batch.states[j], batch.actions[j],
                                      rollout_steps) for j in range(4)]).mean()
    assert torch.allclose(fast, slow, rtol=1e-5, atol=1e-7)
    # R = 1 is the paper's one-step loss.
    if rollout_steps == 1:
        assert torch.allclose(fast, model.loss(params, batch.states[:, :-1], batch.actions,
                                               batch.states[:, 1:]))
    for a, b in zip(torch.autograd.grad(fast, list(params.values())),
                    torch.autograd.grad(slow, list(params.values()))):
        assert float((a - b).norm()) <= 1e-5 * float(b.norm()) + 1e-8


@pytest.mark.parametrize('rollout_steps', [2, 5])
def test_grbal_rollout_objective_equals_the_adapted_model_rolled_out(rollout_steps):
    model = _model()
    params = dict(model.named_parameters())
    psi = StepSize({name: value.shape for name, value in params.items()}, 'factored', 0.05)
    generator = torch.Generator().manual_seed(3)
    batch = WindowBatch(torch.randn(3, 10, 3, generator=generator),
                        torch.randn(3, 9, 2, generator=generator), 4)
    fast = grbal_objective(model, params, psi, batch, rollout_steps=rollout_steps)
    slow = []
    for j in range(3):
        adapted = adapted_parameters(model, params, psi, batch.past_states[j],
                                     batch.past_actions[j])
        slow.append(_slow_rollout(model, adapted, batch.future_states[j],
                                  batch.future_actions[j], rollout_steps))
    assert torch.allclose(fast, torch.stack(slow).mean(), rtol=1e-5, atol=1e-7)


def test_rebal_reads_the_last_transitions_of_each_history_and_zero_for_none():
    model = _model(context_dim=4)
    params = dict(model.named_parameters())
    generator = torch.Generator().manual_seed(4)
    states = torch.randn(5, 7, 3, generator=generator)
    actions = torch.randn(5, 6, 2, generator=generator)
    history = torch.tensor([0, 1, 3, 6, 2])
    with torch.no_grad():
        context = model.encode(params, states, actions, history)
        for j, length in enumerate(history.tolist()):
            expected = model.null_context() if length == 0 else model.encode(
                params, states[j:j + 1, 6 - length:], actions[j:j + 1, 6 - length:])[0]
            assert torch.allclose(context[j], expected, atol=1e-6)
    batch = WindowBatch(torch.cat([states, states[:, -4:]], 1),
                        torch.cat([actions, actions[:, -3:]], 1), 6, history)
    assert torch.isfinite(rebal_objective(model, params, batch, 3))


@pytest.fixture(scope='module')
def rebal_trained_on_every_length():
    """Return ReBAL on the point mass, its encoder trained on histories of 0 to M transitions."""
    import analytic
    from meta_mpc_ros.core.meta_training import fit_normalizer, Trainer, TrainingConfig
    train, validation = analytic.training_split(tasks=40)
    config = ModelConfig(2, 1, analytic.STATE.model_input_indices, (64, 64), context_dim=8)
    model = DynamicsModel(config).reset_parameters(torch.Generator().manual_seed(0))
    fit_normalizer(model, train)
    Trainer(model, train, validation, TrainingConfig(
        method='rebal', history_lengths='all', iterations=600, eval_every=100, patience=0,
        batch_size=32, seed=0)).train()
    return model, validation


def test_rebal_context_after_0_1_and_m_transitions_is_in_distribution_and_helps(
        rebal_trained_on_every_length):
    from meta_mpc_ros.core.dataset import WindowSampler
    model, validation = rebal_trained_on_every_length
    params = model.meta_parameters()
    sampler = WindowSampler(validation, 16, 16)
    batch = sampler.batch(range(0, len(sampler), 7))
    past, future = batch.past_states, batch.future_states
    errors = {}
    with torch.no_grad():
        for length in (0, 1, 2, 4, 16):
            history = torch.full((len(past),), length)
            context = model.encode(params, past, batch.past_actions, history)
            # What training showed it for this length (training's own windows).
            errors[length] = float(model.loss(params, future[:, :-1], batch.future_actions,
                                              future[:, 1:], context[:, None, :]))
    # The zero context is the trained one for an empty history, not an unseen input: its
    # error is that of a model that knows nothing of the task, and every history helps.
    assert errors[1] < errors[0] and errors[2] < errors[0]
    assert errors[16] < errors[1]
