"""
A planner's view of an adapted model: a fast `dynamics(states, actions) -> next_states`.

`Predictor` binds one set of parameters (theta* or adapted, plus a ReBAL context) and
runs the MLP as a chain of fused matrix multiplications, optionally in bfloat16 for
planning (normalisation and the state update stay in float32). Its output matches
`DynamicsModel.predict` with the same parameters (exactly in float32).
"""

import torch

_ACTIVATIONS = {'relu': torch.relu, 'tanh': torch.tanh,
                'elu': torch.nn.functional.elu, 'silu': torch.nn.functional.silu}


class Predictor:
    """
    Dynamics callable for planners.

    :param model: DynamicsModel (for its configuration and normalisation buffers).
    :param adapted: core.adapters.Adapted (parameters and optional context).
    :param dtype: torch.float32, or torch.bfloat16 for faster planning.
    """

    def __init__(self, model, adapted, dtype=torch.float32):
        if dtype not in (torch.float32, torch.bfloat16, torch.float16):
            raise ValueError(f'unsupported planning dtype {dtype}')
        config = model.config
        self.dtype = dtype
        self.activation = _ACTIVATIONS[config.activation]
        self.input_index = model.input_index
        self.input_mean, self.input_std = model.input_mean, model.input_std
        self.delta_mean, self.delta_std = model.delta_mean, model.delta_std
        linear = [i for i, layer in enumerate(model.network)
                  if isinstance(layer, torch.nn.Linear)]
        with torch.no_grad():
            # Pre-transposed weights: addmm(bias, inputs, weight_t) is one fused kernel.
            self.layers = [(adapted.params[f'network.{i}.weight'].detach().t().to(dtype)
                            .contiguous(), adapted.params[f'network.{i}.bias'].detach().to(dtype))
                           for i in linear]
        self.context = None
        if config.context_dim:
            if adapted.context is None:
                raise ValueError('a ReBAL model needs a context to predict')
            self.context = adapted.context.detach().reshape(1, -1)

    @torch.no_grad()
    def __call__(self, states, actions):
        """
        Predict next states.

        :param states: (K, nx) float32.
        :param actions: (K, nu) float32.
        :return: (K, nx) float32.
        """
        inputs = torch.cat([states.index_select(-1, self.input_index), actions], dim=-1)
        hidden = (inputs - self.input_mean) / self.input_std
        if self.context is not None:
            hidden = torch.cat([hidden, self.context.expand(len(hidden), -1)], dim=-1)
        hidden = hidden.to(self.dtype)
        for weight, bias in self.layers[:-1]:
            hidden = self.activation(torch.addmm(bias, hidden, weight))
        weight, bias = self.layers[-1]
        output = torch.addmm(bias, hidden, weight).float()
        return states + self.delta_mean + self.delta_std * output
