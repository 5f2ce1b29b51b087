"""
A planner's view of an adapted model: a fast `dynamics(states, actions) -> next_states`.

`Predictor` binds one set of parameters (theta* or adapted, plus a ReBAL context) and
runs the MLP as a chain of fused matrix multiplications, optionally in bfloat16 for
planning (normalisation and the state update stay in float32). Its output matches
`DynamicsModel.predict` with the same parameters (to float rounding in float32).

Nearly all of a planning step is these products (bench core reports the fraction of
the GEMM peak), so the layers run as few kernels as possible: on a CPU with oneDNN
each layer is one oneDNN matmul with its activation fused into it, on weights
reordered once into oneDNN's blocked layout (what torch.compile's CPU backend does);
elsewhere it is addmm and an in-place activation. A ReBAL context is constant for a
predictor, so its share of the first layer is folded into that layer's bias.
"""

import torch

_INPLACE = {'relu': torch.relu_, 'tanh': torch.tanh_,
            'elu': lambda x: torch.nn.functional.elu(x, inplace=True),
            'silu': lambda x: torch.nn.functional.silu(x, inplace=True)}
# Activations oneDNN fuses into its matmul (oneDNN's names).
_ONEDNN_FUSED = {'relu': 'relu', 'tanh': 'tanh', 'silu': 'swish'}


def onednn_available(device, dtype):
    """Return True where layers can run as oneDNN matmuls with a fused activation."""
    return torch.device(device).type == 'cpu' and dtype in (torch.float32, torch.bfloat16) \
        and torch.backends.mkldnn.is_available() \
        and hasattr(torch.ops.mkldnn, '_linear_pointwise')


class _OneDNNLayer:
    """One linear layer (and activation) as a single oneDNN matmul on reordered weights."""

    def __init__(self, weight, bias, activation):
        self.weight = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous())
        self.bias = bias.contiguous()
        # An activation oneDNN cannot fuse (elu) runs in place after the matmul.
        self.attribute = _ONEDNN_FUSED.get(activation, 'none')
        self.after = _INPLACE[activation] if activation and activation not in _ONEDNN_FUSED \
            else None

    def __call__(self, inputs):
        """Return (B, out) from (B, in)."""
        output = torch.ops.mkldnn._linear_pointwise(inputs, self.weight, self.bias,
                                                    self.attribute, [], '')
        return output if self.after is None else self.after(output)


class _AddmmLayer:
    """One linear layer as addmm on pre-transposed weights, then an in-place activation."""

    def __init__(self, weight, bias, activation):
        self.weight = weight.t().contiguous()
        self.bias = bias
        self.after = _INPLACE[activation] if activation else None

    def __call__(self, inputs):
        """Return (B, out) from (B, in)."""
        output = torch.addmm(self.bias, inputs, self.weight)
        return output if self.after is None else self.after(output)


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
        self.input_index = model.input_index
        self.input_mean, self.input_std = model.input_mean, model.input_std
        self.delta_mean, self.delta_std = model.delta_mean, model.delta_std
        linear = [i for i, layer in enumerate(model.network)
                  if isinstance(layer, torch.nn.Linear)]
        if config.context_dim and adapted.context is None:
            raise ValueError('a ReBAL model needs a context to predict')
        layer_class = _OneDNNLayer if onednn_available(model.input_mean.device, dtype) \
            else _AddmmLayer
        self.layers = []
        with torch.no_grad():
            for position, index in enumerate(linear):
                weight = adapted.params[f'network.{index}.weight'].detach().float()
                bias = adapted.params[f'network.{index}.bias'].detach().float()
                if position == 0 and config.context_dim:
                    # W [x, c] + b = W_x x + (W_c c + b): the context is fixed.
                    width = weight.shape[1] - config.context_dim
                    bias = bias + weight[:, width:] @ adapted.context.detach().reshape(-1)
                    weight = weight[:, :width]
                last = position == len(linear) - 1
                self.layers.append(layer_class(weight.to(dtype), bias.to(dtype),
                                               None if last else config.activation))

    @torch.no_grad()
    def __call__(self, states, actions):
        """
        Predict next states.

        :param states: (K, nx) float32.
        :param actions: (K, nu) float32.
        :return: (K, nx) float32.
        """
        inputs = torch.cat([states.index_select(-1, self.input_index), actions], dim=-1)
        hidden = inputs.sub_(self.input_mean).div_(self.input_std).to(self.dtype)
        for layer in self.layers:
            hidden = layer(hidden)
        return torch.addcmul(self.delta_mean, self.delta_std, hidden.float()).add_(states)
