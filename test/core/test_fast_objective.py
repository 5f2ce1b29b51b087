"""The batched GrBAL objective equals the slow vmap-of-grad reference to 1e-5."""

from meta_mpc_ros.core.dataset import WindowBatch
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.core.objectives import grbal_objective
from meta_mpc_ros.core.step_size import StepSize
import pytest
from reference_objectives import reference_grbal_objective
import torch


def model_and_batch(activation, windows=5, past=4, future=3):
    config = ModelConfig(3, 2, (1, 2), (16, 12), activation=activation)
    model = DynamicsModel(config).reset_parameters(torch.Generator().manual_seed(1))
    generator = torch.Generator().manual_seed(2)
    batch = WindowBatch(torch.randn(windows, past + future + 1, 3, generator=generator),
                        torch.randn(windows, past + future, 2, generator=generator), past)
    return model, batch


def step_size(params, mode):
    generator = torch.Generator().manual_seed(3)
    if mode == 'scalar':
        return torch.tensor(0.07, requires_grad=True)
    if mode.startswith('factored'):
        # Inputs are 2 state entries then 2 actions: columns 2..3 share one factor.
        shared = (2, 4) if mode == 'factored_shared' else None
        psi = StepSize({name: value.shape for name, value in params.items()}, 'factored',
                       0.05, shared)
        for value in psi.parameters():
            value.add_(0.5 * torch.randn(value.shape, generator=generator))
        return psi.requires_grad_()
    # Distinct positive entries, so a psi applied to the wrong entry would show.
    return {name: (0.02 + 0.1 * torch.rand(value.shape, generator=generator)).requires_grad_()
            for name, value in params.items()}


def relative_error(a, b):
    return float((a - b).norm() / b.norm().clamp_min(1e-12))


@pytest.mark.parametrize('first_order', [False, True])
@pytest.mark.parametrize('mode', ['scalar', 'per_parameter', 'factored', 'factored_shared'])
@pytest.mark.parametrize('activation', ['relu', 'tanh', 'silu'])
def test_value_and_gradients_equal_the_reference(first_order, mode, activation):
    model, batch = model_and_batch(activation)
    params = dict(model.named_parameters())
    psi = step_size(params, mode)
    if isinstance(psi, StepSize):
        # The reference sees psi as full tensors built from the same free parameters,
        # so gradients with respect to those parameters must agree too.
        free, reference_psi = psi.parameters(), psi.values()
    else:
        free = list(psi.values()) if isinstance(psi, dict) else [psi]
        reference_psi = psi
    wrt = list(params.values()) + free
    fast = grbal_objective(model, params, psi, batch, first_order)
    slow = reference_grbal_objective(model, params, reference_psi, batch, first_order)
    assert float(fast) == pytest.approx(float(slow), rel=1e-5)
    for name, a, b in zip(list(params) + ['psi'] * (len(wrt) - len(params)),
                          torch.autograd.grad(fast, wrt), torch.autograd.grad(slow, wrt)):
        assert relative_error(a, b) < 1e-5, name


def test_validation_under_no_grad_equals_the_reference_first_order():
    # Trainer.validate scores under torch.no_grad(); the inner step must still happen.
    model, batch = model_and_batch('relu')
    params = model.meta_parameters()
    psi = step_size(params, 'per_parameter')
    with torch.no_grad():
        fast = grbal_objective(model, params, psi, batch, first_order=True)
        without_step = grbal_objective(model, params, {k: v * 0 for k, v in psi.items()},
                                       batch, first_order=True)
    slow = reference_grbal_objective(model, params, psi, batch, first_order=True)
    assert not fast.requires_grad
    assert float(fast) == pytest.approx(float(slow), rel=1e-5)
    assert float(fast) != pytest.approx(float(without_step), rel=1e-6)


def test_factored_step_size_is_positive_and_shares_the_action_columns():
    shapes = {'network.0.weight': torch.Size([5, 4]), 'network.0.bias': torch.Size([5])}
    psi = StepSize(shapes, 'factored', 0.01, action_columns=(2, 4))
    with torch.no_grad():
        for value in psi.parameters():
            value.copy_(-50.0 * torch.ones_like(value))   # exp(-50) > 0, still positive
    assert all((value > 0).all() for value in psi.values().values())
    # 2 state columns + 1 shared action column are free; columns 2 and 3 are equal.
    assert psi.free['network.0.weight:column'].shape == (3,)
    with torch.no_grad():
        psi.free['network.0.weight:column'][2] = 1.0
    weight = psi.values()['network.0.weight']
    assert torch.equal(weight[:, 2], weight[:, 3])
    assert weight.shape == (5, 4)
