"""
CPU and CUDA give the same results.

Checked: prediction, GrBAL adaptation, a meta-training step (per-parameter and factored
psi), the continual method's unrolled losses, and a planner's rollout and cost. Runs
the CPU half everywhere; the CUDA half only where a GPU is present (skipped otherwise).
"""

from meta_mpc_ros.core.adapters import GrBALAdapter, Window
from meta_mpc_ros.core.costs import build_cost, CostContext
from meta_mpc_ros.core.dataset import WindowBatch
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.core.objectives import grbal_objective
from meta_mpc_ros.core.per_window import continual_future_losses
from meta_mpc_ros.core.planning.common import rollout
from meta_mpc_ros.core.predictor import Predictor
from meta_mpc_ros.core.step_size import StepSize
from meta_mpc_ros.robots.millirobot import MILLIROBOT_STATE
import pytest
import torch

DEVICES = ['cpu', pytest.param('cuda', marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason='no CUDA device here'))]


def compute(device):
    """Run every core computation on `device`; return CPU copies of the results."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    generator = torch.Generator().manual_seed(0)
    config = ModelConfig(MILLIROBOT_STATE.dim, 2, MILLIROBOT_STATE.model_input_indices,
                         (64, 64))
    model = DynamicsModel(config).reset_parameters(generator).to(device)
    params = model.meta_parameters()
    states = torch.randn(17, MILLIROBOT_STATE.dim, generator=generator).to(device)
    actions = torch.rand(16, 2, generator=generator).to(device)
    psi = {name: torch.full_like(value, 0.01) for name, value in params.items()}
    adapted = GrBALAdapter(psi).adapt(model, params, Window(states, actions))
    meta_loss = grbal_objective(model, dict(model.named_parameters()), psi,
                                _batch(states, actions))
    gradients = torch.autograd.grad(meta_loss, list(model.parameters()))
    factored = StepSize({name: value.shape for name, value in params.items()}, 'factored',
                        0.01, device=device)
    factored_loss = grbal_objective(model, params, factored, _batch(states, actions))
    continual = continual_future_losses(model, params, factored, states[None].repeat(2, 1, 1),
                                        actions[None].repeat(2, 1, 1), 4, 4, 3, 0.05)
    samples = torch.rand(64, 10, 2, generator=generator).to(device) * 25.0
    trajectories = rollout(Predictor(model, adapted), states[0], samples)
    xs = torch.arange(0.0, 1.0, 0.01, device=device)
    context = CostContext(torch.stack([xs, torch.zeros_like(xs)], 1), torch.zeros_like(xs),
                          xs.clone())
    cost = build_cost([{'name': 'path_tracking'}, {'name': 'control_effort', 'weight': 1e-3}],
                      MILLIROBOT_STATE)(trajectories, samples, context)
    return {'prediction': model.predict(params, states[:-1], actions),
            'adapted': torch.cat([v.flatten() for v in adapted.params.values()]),
            'meta_loss': meta_loss.detach(), 'gradient': torch.cat([g.flatten()
                                                                    for g in gradients]),
            'rollout': trajectories, 'cost': cost, 'factored_meta_loss': factored_loss,
            'continual_losses': continual.detach()}


def _batch(states, actions):
    return WindowBatch(states[None].repeat(2, 1, 1), actions[None].repeat(2, 1, 1), 8)


@pytest.mark.parametrize('device', DEVICES)
def test_same_results_on_each_device(device):
    reference = compute('cpu')
    results = compute(device)
    for name, value in results.items():
        assert torch.isfinite(value).all(), name
        assert torch.allclose(value.cpu(), reference[name], rtol=1e-4, atol=1e-4), name
