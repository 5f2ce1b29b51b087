"""The (meta-)training loop: exact second-order gradients, psi, best/early stop, resume."""

import analytic
from meta_mpc_ros.core.adapters import GrBALAdapter, Window
from meta_mpc_ros.core.dataset import WindowBatch
from meta_mpc_ros.core.meta_training import fit_normalizer, Trainer, TrainingConfig
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.core.objectives import grbal_objective
from meta_mpc_ros.core.step_size import StepSize
import numpy as np
import pytest
from reference_objectives import reference_inner_step
import torch


def small_model(context_dim=0):
    config = ModelConfig(2, 1, analytic.STATE.model_input_indices, (16, 16),
                         context_dim=context_dim)
    return DynamicsModel(config).reset_parameters(torch.Generator().manual_seed(0))


def test_vectorised_grbal_gradient_equals_a_loop_of_autograd():
    model = small_model()
    params = dict(model.named_parameters())
    psi = {name: torch.full_like(v, 0.05, requires_grad=True) for name, v in params.items()}
    generator = torch.Generator().manual_seed(0)
    batch = WindowBatch(torch.randn(4, 9, 2, generator=generator),
                        torch.randn(4, 8, 1, generator=generator), past_steps=4)
    vectorised = grbal_objective(model, params, psi, batch)
    looped = 0.0
    for j in range(4):
        adapted = reference_inner_step(model, params, psi, batch.past_states[j],
                                       batch.past_actions[j], create_graph=True)
        future = batch.future_states[j]
        looped = looped + model.loss(adapted, future[:-1], batch.future_actions[j],
                                     future[1:]) / 4
    wrt = list(params.values()) + list(psi.values())
    exact = torch.autograd.grad(vectorised, wrt, retain_graph=True)
    for a, b in zip(exact, torch.autograd.grad(looped, wrt)):
        assert torch.allclose(a, b, atol=1e-6)
    first_order = grbal_objective(model, params, psi, batch, first_order=True)
    difference = [(a - b).abs().max() for a, b in zip(
        torch.autograd.grad(first_order, list(params.values())),
        torch.autograd.grad(vectorised, list(params.values())))]
    assert max(difference) > 1e-4       # second-order terms are really there


@pytest.mark.parametrize('mode', ['scalar', 'per_parameter', 'factored'])
def test_the_online_grbal_step_is_the_objectives_step(mode):
    # GrBALAdapter forms theta' from the statistics the batched objective uses; it must
    # equal theta - psi * grad L(window; theta) by autograd, for every form of psi.
    model = small_model()
    params = {name: value.detach() for name, value in model.named_parameters()}
    shapes = {name: value.shape for name, value in params.items()}
    generator = torch.Generator().manual_seed(1)
    step_size = StepSize(shapes, mode, 0.05)
    with torch.no_grad():
        for value in step_size.parameters():
            value.add_(0.3 * torch.randn(value.shape, generator=generator))
    psi = {name: value.detach() for name, value in step_size.values().items()}
    states = torch.randn(9, 2, generator=generator)
    actions = torch.randn(8, 1, generator=generator)
    online = GrBALAdapter(psi).adapt(model, params, Window(states, actions)).params
    closed = GrBALAdapter(step_size).adapt(model, params, Window(states, actions)).params
    expected = reference_inner_step(model, params, psi, states, actions, create_graph=False)
    for name, value in expected.items():
        assert torch.allclose(online[name], value, atol=1e-6), name
        assert torch.allclose(closed[name], value, atol=1e-6), name


def datasets(tasks=12, steps=120):
    rng = np.random.default_rng(0)
    train = analytic.make_dataset([analytic.sample_task(rng) for _ in range(tasks)], steps,
                                  rng)
    validation = analytic.make_dataset([analytic.sample_task(rng) for _ in range(4)], steps,
                                       rng)
    return train, validation


def trainer(config, state=None, model=None):
    train, validation = datasets()
    model = model or small_model()
    fit_normalizer(model, train)
    return Trainer(model, train, validation, config, state=state)


def test_grbal_learns_psi_and_lowers_validation_loss():
    run = trainer(TrainingConfig(iterations=200, eval_every=50, patience=0,
                                 step_size_mode='scalar'))
    initial = run.validate()
    state = run.train()
    assert state.best_validation < 0.5 * initial
    assert float(run.detached_step_size()) != pytest.approx(0.01)


def test_best_parameters_are_restored_and_early_stopping_ends_training():
    # A huge learning rate makes training diverge after the first evaluations, so the
    # best validation comes early, patience runs out, and the early weights come back.
    run = trainer(TrainingConfig(method='mb', iterations=2000, eval_every=10, patience=3,
                                 learning_rate=0.5))
    state = run.train()
    assert state.iteration < 2000
    assert len(state.history) >= 3
    assert run.validate() == pytest.approx(state.best_validation, rel=1e-5)
    assert min(record['validation_loss'] for record in state.history) >= \
        state.best_validation - 1e-9


def test_resume_continues_exactly():
    config = TrainingConfig(method='mb', iterations=40, eval_every=20, patience=0)
    straight = trainer(config)
    straight.train()
    first = trainer(TrainingConfig(method='mb', iterations=20, eval_every=20, patience=0))
    state = first.train()
    resumed = trainer(config, state=state, model=first.model)
    resumed.train()
    for name, value in straight.model.named_parameters():
        assert torch.allclose(value, dict(resumed.model.named_parameters())[name], atol=1e-6)


def test_rebal_needs_a_context():
    with pytest.raises(ValueError, match='context_dim'):
        trainer(TrainingConfig(method='rebal', iterations=1))


def test_config_validation():
    with pytest.raises(ValueError, match='method'):
        TrainingConfig(method='maml')
    with pytest.raises(ValueError):
        TrainingConfig(past_steps=0)
