"""
The dynamics MLP as one list of layers, and the one function that runs it.

`mlp_layers(config)` builds the list a DynamicsModel holds as `model.layers`: linear
layers, named by their parameters (`network.<position>.weight` and `.bias`, the names
checkpoints hold), with an activation from ACTIVATIONS between them. Every path reads
that list:

    DynamicsModel.forward      apply_layers(model.layers, its parameters, inputs)
    core.per_window            apply_layers with each linear layer adapted in closed form
    core.predictor             the list compiled to fused kernels (oneDNN or addmm)

so an architecture change, such as another activation, is made here once. An
activation is chosen by name (ModelConfig.activation, the robot YAML's
`model: activation:`) from ACTIVATIONS.

Layers other than linear ones are parameter-free: `module()` (their slot in the
model's nn.Sequential), `__call__(inputs)` and optionally `in_place(inputs)` for the
predictor. GrBAL's closed-form inner step adapts linear layers only, so a layer with
parameters of its own (a layer norm's gain) would need its gradient in core.per_window.

Shapes: (..., width), any leading batch shape.
"""

from dataclasses import dataclass
import functools

import torch
from torch import nn
from torch.nn import functional


@dataclass(frozen=True)
class Activation:
    """
    An elementwise nonlinearity, as each path runs it.

    :param function: the differentiable, out-of-place function (tensor -> tensor); the
        model and the per-window path run it.
    :param inplace: the same function overwriting its input, for the planning predictor
        (None: the predictor runs `function`).
    :param onednn: oneDNN's name for it where oneDNN fuses it into a matmul ('relu',
        'tanh', 'swish'), else 'none'.
    """

    function: object
    inplace: object = None
    onednn: str = 'none'


ACTIVATIONS = {
    'relu': Activation(torch.relu, torch.relu_, 'relu'),
    'tanh': Activation(torch.tanh, torch.tanh_, 'tanh'),
    'elu': Activation(functional.elu, functools.partial(functional.elu, inplace=True)),
    'silu': Activation(functional.silu, functools.partial(functional.silu, inplace=True),
                       'swish'),
}


@dataclass(frozen=True)
class LinearLayer:
    """
    A linear layer h = x W^T + b, named by its parameters.

    :param name: the parameters' prefix: `<name>.weight` (out, in), `<name>.bias` (out,).
    """

    name: str
    in_features: int
    out_features: int

    @property
    def weight(self):
        """Return the weight's parameter name."""
        return f'{self.name}.weight'

    @property
    def bias(self):
        """Return the bias's parameter name."""
        return f'{self.name}.bias'

    def module(self):
        """Return the nn.Module that holds its parameters."""
        return nn.Linear(self.in_features, self.out_features)


@dataclass(frozen=True)
class ActivationLayer:
    """An activation from ACTIVATIONS, by name; it has no parameters."""

    name: str

    @property
    def activation(self):
        """Return its Activation."""
        return ACTIVATIONS[self.name]

    def module(self):
        """Return a parameter-free nn.Module (its place in the nn.Sequential)."""
        return _ActivationModule(self.name)

    def __call__(self, inputs):
        """Return the activation of (..., width) inputs."""
        return self.activation.function(inputs)

    def in_place(self, inputs):
        """Return the activation of (..., width) inputs, which it may overwrite."""
        activation = self.activation
        return (activation.inplace or activation.function)(inputs)


class _ActivationModule(nn.Module):
    """An ActivationLayer's slot in the network (printing; layer positions stay names)."""

    def __init__(self, name):
        super().__init__()
        self.name = name

    def forward(self, inputs):
        """Return the activation of the inputs."""
        return ACTIVATIONS[self.name].function(inputs)

    def extra_repr(self):
        """Name the activation."""
        return self.name


def mlp_layers(config):
    """
    Return the MLP of `config` as a tuple of layers, input to output.

    Linear layers alternate with the activation and the last layer is linear; each
    layer's position p is its name, `network.<p>` (the names checkpoints hold).
    """
    widths = (config.input_dim,) + tuple(config.hidden_sizes) + (config.state_dim,)
    layers = []
    for width_in, width_out in zip(widths[:-1], widths[1:]):
        if layers:
            layers.append(ActivationLayer(config.activation))
        layers.append(LinearLayer(f'network.{len(layers)}', width_in, width_out))
    return tuple(layers)


def apply_layers(layers, params, inputs, linear=None):
    """
    Run a layer list on inputs with the given parameters.

    :param layers: e.g. DynamicsModel.layers.
    :param params: parameter name -> tensor (anything indexable by name).
    :param inputs: (..., in) network inputs.
    :param linear: (layer, params, inputs) -> outputs, how a LinearLayer is applied
        (the per-window path adapts each layer); None: x W^T + b.
    :return: (..., out).
    """
    hidden = inputs
    for layer in layers:
        if isinstance(layer, LinearLayer):
            hidden = functional.linear(hidden, params[layer.weight], params[layer.bias]) \
                if linear is None else linear(layer, params, hidden)
        else:
            hidden = layer(hidden)
    return hidden


class ModuleParameters:
    """A module's current parameters by name (under functional_call, the ones passed in)."""

    def __init__(self, module):
        self.module = module

    def __getitem__(self, name):
        """Return the tensor the module holds as `name`."""
        *path, leaf = name.split('.')
        return getattr(functools.reduce(getattr, path, self.module), leaf)
