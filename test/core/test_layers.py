"""
One layer list: the model, the per-window path and the predictor run the same MLP.

Each activation of ACTIVATIONS is chosen by name; an untrained model with it gives the
same outputs, the same GrBAL inner step and the same planning predictions on every
path as a hand-written MLP with that activation (test/helpers/layer_paths.py).
"""

from layer_paths import assert_paths_agree, tiny_model
from meta_mpc_ros.core.layers import ActivationLayer, LinearLayer
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
import pytest
import torch
from torch.nn import functional

# The activations by hand, independent of core.layers.
BY_HAND = {'relu': lambda x: x.clamp_min(0.0), 'tanh': torch.tanh,
           'elu': lambda x: torch.where(x > 0, x, x.exp() - 1.0),
           'silu': lambda x: x * torch.sigmoid(x)}


@pytest.mark.parametrize('activation', sorted(BY_HAND))
def test_every_path_runs_the_chosen_activation(activation, predictor_kernel):
    model, params = tiny_model(activation)
    assert_paths_agree(model, params, BY_HAND[activation])


def test_another_activation_changes_every_path():
    # The same parameters under tanh and relu: the paths agree within each model and
    # differ between them, so no path runs an activation of its own.
    tanh_model, params = tiny_model('tanh')
    relu_model = DynamicsModel(ModelConfig(3, 2, (1, 2), (16, 12), activation='relu'))
    states, actions = torch.randn(20, 3), torch.randn(20, 2)
    assert not torch.allclose(tanh_model.predict(params, states, actions),
                              relu_model.predict(params, states, actions), atol=1e-3)
    assert_paths_agree(tanh_model, params, torch.tanh)
    assert_paths_agree(relu_model, params, functional.relu)


def test_the_layer_list_names_the_checkpoint_parameters():
    model = DynamicsModel(ModelConfig(3, 2, (1, 2), (16, 12), activation='tanh'))
    assert model.layers == (LinearLayer('network.0', 4, 16), ActivationLayer('tanh'),
                            LinearLayer('network.2', 16, 12), ActivationLayer('tanh'),
                            LinearLayer('network.4', 12, 3))
    names = [name for layer in model.linear_layers() for name in (layer.weight, layer.bias)]
    assert names == [name for name, _ in model.named_parameters()]
