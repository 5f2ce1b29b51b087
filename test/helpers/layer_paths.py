"""
Check that every path that runs the MLP runs the same layers.

The model's forward, the batched per-window GrBAL path and the planning predictor each
read the model's layer list (core.layers); here they are compared with a hand-written
MLP, `activation(x W^T + b)` layer by layer, on the same parameters, and GrBAL's inner
step is compared with autograd's gradient of that MLP's loss.
"""

from meta_mpc_ros.core import per_window
from meta_mpc_ros.core.adapters import Adapted
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.core.predictor import Predictor
import torch
from torch.func import functional_call

TOLERANCE = 1e-5


def tiny_model(activation, seed=0):
    """Return an untrained DynamicsModel (3 states, 2 actions, 16 x 12) with `activation`."""
    config = ModelConfig(3, 2, (1, 2), (16, 12), activation=activation)
    model = DynamicsModel(config).reset_parameters(torch.Generator().manual_seed(seed))
    params = model.meta_parameters()
    # Weights 3 times PyTorch's initial scale reach the activation's curved part.
    return model, {name: 3.0 * value for name, value in params.items()}


def hand_written(params, inputs, function, layers):
    """Return the MLP `layers` linear layers deep, with `function` between them, by hand."""
    hidden = inputs
    for index in range(layers):
        hidden = hidden @ params[f'network.{2 * index}.weight'].T \
            + params[f'network.{2 * index}.bias']
        if index < layers - 1:
            hidden = function(hidden)
    return hidden


def assert_paths_agree(model, params, function):
    """
    Assert that the three paths compute `function`'s MLP on the same parameters.

    :param model: DynamicsModel without a context.
    :param params: name -> tensor.
    :param function: the activation, as a plain function of a tensor.
    """
    generator = torch.Generator().manual_seed(1)
    windows, steps, nx, nu = 3, 4, model.config.state_dim, model.config.action_dim
    states = torch.randn(windows, steps + 1, nx, generator=generator)
    actions = torch.randn(windows, steps, nu, generator=generator)
    layers = len(model.config.hidden_sizes) + 1
    inputs = model.normalized_inputs(states[:, :-1], actions)
    target = model.normalized_target(states[:, :-1], states[:, 1:])
    expected = hand_written(params, inputs, function, layers)

    # The model's forward.
    output = functional_call(model, params, (states[:, :-1], actions))
    assert torch.allclose(output, expected, atol=TOLERANCE)
    # The per-window path, at theta: each window's one-step loss.
    losses = per_window.future_losses(model, params, torch.tensor(0.1),
                                      per_window.no_corrections(model), states, actions)
    assert torch.allclose(losses, (expected - target).pow(2).mean(dim=(1, 2)), atol=TOLERANCE)
    # The per-window inner step: theta' = theta - psi * grad L(window 0), by autograd here.
    weights = {name: value.clone().requires_grad_(True) for name, value in params.items()}
    loss = (hand_written(weights, inputs[0], function, layers) - target[0]).pow(2).mean()
    gradients = dict(zip(weights, torch.autograd.grad(loss, list(weights.values()))))
    adapted = per_window.adapted_parameters(model, params, torch.tensor(0.1), states[0],
                                            actions[0])
    for name, value in params.items():
        assert torch.allclose(adapted[name], value - 0.1 * gradients[name], atol=TOLERANCE)
    # The predictor, with theta' as the planner would get it.
    flat_states, flat_actions = states[:, :-1].reshape(-1, nx), actions.reshape(-1, nu)
    predicted = Predictor(model, Adapted(adapted))(flat_states, flat_actions)
    by_hand = flat_states + model.delta_mean + model.delta_std * hand_written(
        adapted, model.normalized_inputs(flat_states, flat_actions), function, layers)
    assert torch.allclose(predicted, by_hand, atol=TOLERANCE)
    assert torch.allclose(predicted, model.predict(adapted, flat_states, flat_actions),
                          atol=TOLERANCE)
