"""
The dynamics model: an MLP that predicts the normalised state change.

    input  = [normalise(state[input_indices]), normalise(action)]  (+ a context for ReBAL)
    output = normalised delta;  next_state = state + delta_mean + delta_std * output

The network is the Gaussian mean of the paper, trained with MSE in normalised units.
Normalisation statistics are buffers, saved with the model. Parameters are plain
values passed to `predict(params, ...)` (via torch.func.functional_call), so adapted
parameters never live inside the module.

The MLP is one list of layers, `DynamicsModel.layers` (core.layers): the model's
forward, the batched per-window GrBAL path and the planning predictor all read it.

Shapes: B is any batch shape (e.g. K samples, or windows x time); nx = state_dim,
nu = action_dim.
"""

from dataclasses import dataclass, field

from meta_mpc_ros.core.layers import (ACTIVATIONS, apply_layers, LinearLayer, mlp_layers,
                                      ModuleParameters)
import torch
from torch import nn
from torch.func import functional_call


@dataclass(frozen=True)
class ModelConfig:
    """
    Architecture of the dynamics model.

    :param state_dim: nx.
    :param action_dim: nu.
    :param input_indices: state entries the network sees (absolute positions excluded).
    :param hidden_sizes: widths of the hidden layers; the paper uses (512, 512, 512).
    :param activation: one of ACTIVATIONS.
    :param context_dim: size of a ReBAL context appended to the input (0: none).
    :param encoder: the ReBAL recurrent encoder, 'gru' or 'lstm' (used if context_dim).
    """

    state_dim: int
    action_dim: int
    input_indices: tuple
    hidden_sizes: tuple = (512, 512, 512)
    activation: str = 'relu'
    context_dim: int = 0
    encoder: str = 'gru'

    def __post_init__(self):
        if self.state_dim < 1 or self.action_dim < 1:
            raise ValueError('state_dim and action_dim must be positive')
        if not self.input_indices or any(not 0 <= i < self.state_dim
                                         for i in self.input_indices):
            raise ValueError(f'input_indices {self.input_indices} out of range')
        if not self.hidden_sizes or any(h < 1 for h in self.hidden_sizes):
            raise ValueError(f'bad hidden_sizes {self.hidden_sizes}')
        if self.activation not in ACTIVATIONS:
            raise ValueError(f'activation must be one of {sorted(ACTIVATIONS)}')
        if self.context_dim < 0 or self.encoder not in ('gru', 'lstm'):
            raise ValueError('context_dim must be >= 0 and encoder gru or lstm')

    @property
    def input_dim(self):
        """Return the network's input width."""
        return len(self.input_indices) + self.action_dim + self.context_dim

    def to_dict(self):
        """Return a plain dict (for checkpoints)."""
        return {'state_dim': self.state_dim, 'action_dim': self.action_dim,
                'input_indices': list(self.input_indices),
                'hidden_sizes': list(self.hidden_sizes), 'activation': self.activation,
                'context_dim': self.context_dim, 'encoder': self.encoder}

    @classmethod
    def from_dict(cls, data):
        """Build a config from `to_dict` output."""
        return cls(int(data['state_dim']), int(data['action_dim']),
                   tuple(int(i) for i in data['input_indices']),
                   tuple(int(h) for h in data['hidden_sizes']), str(data['activation']),
                   int(data.get('context_dim', 0)), str(data.get('encoder', 'gru')))


@dataclass
class Normalizer:
    """Mean and standard deviation of network inputs and of state deltas (1-D tensors)."""

    input_mean: torch.Tensor
    input_std: torch.Tensor
    delta_mean: torch.Tensor
    delta_std: torch.Tensor
    min_std: float = field(default=1e-6, repr=False)

    @classmethod
    def fit(cls, states, actions, next_states, input_indices, min_std=1e-6):
        """
        Fit the statistics on transitions.

        :param states: (N, nx).
        :param actions: (N, nu).
        :param next_states: (N, nx).
        :param input_indices: state entries the network sees.
        :param min_std: floor on every std, so constant entries do not divide by zero.
        :return: Normalizer
        """
        states, actions, next_states = (torch.as_tensor(x, dtype=torch.float32)
                                        for x in (states, actions, next_states))
        if len(states) < 2:
            raise ValueError('need at least two transitions to fit a normaliser')
        inputs = torch.cat([states[:, list(input_indices)], actions], dim=-1)
        deltas = next_states - states
        return cls(inputs.mean(0), inputs.std(0).clamp_min(min_std),
                   deltas.mean(0), deltas.std(0).clamp_min(min_std), min_std)

    @classmethod
    def identity(cls, config):
        """Return statistics that leave values unchanged (before fitting)."""
        inputs = len(config.input_indices) + config.action_dim
        return cls(torch.zeros(inputs), torch.ones(inputs),
                   torch.zeros(config.state_dim), torch.ones(config.state_dim))


class DynamicsModel(nn.Module):
    """
    MLP dynamics model with built-in normalisation; see the module docstring.

    Call `predict(params, state, action)` with any parameter dict (the meta-parameters
    theta*, or adapted ones) rather than relying on the module's own weights.
    """

    def __init__(self, config, normalizer=None):
        super().__init__()
        self.config = config
        normalizer = normalizer or Normalizer.identity(config)
        self.register_buffer('input_index', torch.tensor(config.input_indices))
        self.set_normalizer(normalizer)
        self.layers = mlp_layers(config)
        self.network = nn.Sequential(*(layer.module() for layer in self.layers))
        if config.context_dim:
            recurrent = nn.GRU if config.encoder == 'gru' else nn.LSTM
            self.encoder = recurrent(len(config.input_indices) + config.action_dim
                                     + config.state_dim, config.context_dim, batch_first=True)

    def reset_parameters(self, generator):
        """
        Initialise every weight from an explicit torch.Generator.

        Linear layers use PyTorch's default scheme (uniform in +-1/sqrt(fan_in)); the
        recurrent encoder uses uniform in +-1/sqrt(hidden size), also PyTorch's default.
        """
        fan_in = {name: layer.in_features for layer in self.linear_layers()
                  for name in (layer.weight, layer.bias)}
        with torch.no_grad():
            for name, value in self.named_parameters():
                width = self.config.context_dim if name.startswith('encoder.') else fan_in[name]
                bound = 1.0 / width ** 0.5
                value.uniform_(-bound, bound, generator=generator)
        return self

    def linear_layers(self):
        """Return the LinearLayers of `layers`, input to output."""
        return [layer for layer in self.layers if isinstance(layer, LinearLayer)]

    def set_normalizer(self, normalizer):
        """Replace the normalisation statistics (buffers; not parameters)."""
        for name in ('input_mean', 'input_std', 'delta_mean', 'delta_std'):
            value = torch.as_tensor(getattr(normalizer, name), dtype=torch.float32).clone()
            if hasattr(self, name):
                getattr(self, name).copy_(value.to(getattr(self, name).device))
            else:
                self.register_buffer(name, value)

    @property
    def normalizer(self):
        """Return the current statistics."""
        return Normalizer(self.input_mean.cpu(), self.input_std.cpu(),
                          self.delta_mean.cpu(), self.delta_std.cpu())

    def meta_parameters(self):
        """Return a detached copy of the module's parameters, as a name -> tensor dict."""
        return {name: value.detach().clone() for name, value in self.named_parameters()}

    def null_context(self, device=None):
        """Return the (context_dim,) context of 'no history read' (zeros), or None."""
        if not self.config.context_dim:
            return None
        return torch.zeros(self.config.context_dim, device=device)

    def normalized_inputs(self, state, action):
        """Return (..., input_dim - context_dim) normalised network inputs."""
        inputs = torch.cat([state.index_select(-1, self.input_index), action], dim=-1)
        return (inputs - self.input_mean) / self.input_std

    def forward(self, state, action, context=None):
        """
        Predict the normalised delta (the network output).

        :param state: (B, nx).
        :param action: (B, nu).
        :param context: (B, context_dim) for ReBAL, else None.
        :return: (B, nx) normalised delta.
        """
        inputs = self.normalized_inputs(state, action)
        if context is not None:
            inputs = torch.cat([inputs, context.expand(*inputs.shape[:-1], -1)], dim=-1)
        return apply_layers(self.layers, ModuleParameters(self), inputs)

    def encode(self, params, states, actions, history=None):
        """
        Summarise a window of transitions into a ReBAL context.

        An empty history's context is the encoder's initial state, zeros (null_context):
        trained with history lengths from 0 to M, the model knows it.

        :param params: name -> tensor dict holding the `encoder.*` entries.
        :param states: (W, M+1, nx) states of W windows.
        :param actions: (W, M, nu).
        :param history: (W,) int64, how many of each window's last transitions to read
            (0 to M), or None for all M.
        :return: (W, context_dim) the encoder's last hidden state.
        """
        steps = torch.cat([self.normalized_inputs(states[:, :-1], actions),
                           self.normalized_target(states[:, :-1], states[:, 1:])], dim=-1)
        encoder_params = {name[len('encoder.'):]: value for name, value in params.items()
                          if name.startswith('encoder.')}
        if history is None:
            return self._last_hidden(functional_call(self.encoder, encoder_params, (steps,)))
        # Each history is its window's last L steps: move them to the front and pack.
        length = steps.shape[1]
        history = history.to(steps.device)
        index = (torch.arange(length, device=steps.device) + (length - history)[:, None]) \
            .clamp(max=length - 1)
        aligned = steps.gather(1, index[:, :, None].expand(-1, -1, steps.shape[-1]))
        packed = nn.utils.rnn.pack_padded_sequence(aligned, history.clamp(min=1).cpu(),
                                                   batch_first=True, enforce_sorted=False)
        hidden = self._last_hidden(functional_call(self.encoder, encoder_params, (packed,)))
        return hidden * (history > 0)[:, None].to(hidden.dtype)

    @staticmethod
    def _last_hidden(output):
        """Return (W, context_dim) the last layer's final hidden state of a GRU/LSTM call."""
        _, hidden = output
        if isinstance(hidden, tuple):
            hidden = hidden[0]
        return hidden[-1]

    def normalized_target(self, state, next_state):
        """Return (B, nx) the true delta in normalised units: the regression target."""
        return (next_state - state - self.delta_mean) / self.delta_std

    def predict(self, params, state, action, context=None):
        """
        Predict the next state with the given parameters.

        :param params: name -> tensor dict (theta* or adapted).
        :param state: (B, nx).
        :param action: (B, nu).
        :param context: (B, context_dim) or None.
        :return: (B, nx) next state.
        """
        output = functional_call(self, params, (state, action, context))
        return state + self.delta_mean + self.delta_std * output

    def loss(self, params, states, actions, next_states, context=None):
        """
        Return the mean squared error in normalised units (a scalar).

        :param states: (B, nx).
        :param actions: (B, nu).
        :param next_states: (B, nx).
        """
        output = functional_call(self, params, (states, actions, context))
        return (output - self.normalized_target(states, next_states)).pow(2).mean()
