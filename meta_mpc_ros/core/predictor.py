"""
A planner's view of an adapted model: a fast `dynamics(states, actions) -> next_states`.

`Predictor` binds one set of parameters (theta* or adapted, plus a ReBAL context) and
runs the MLP as a chain of fused matrix multiplications, optionally in bfloat16 for
planning (normalisation and the state update stay in float32). It compiles the
model's layer list (core.layers), so it runs whatever layers the model has, and its
output matches `DynamicsModel.predict` with the same parameters (to float rounding in
float32).

Nearly all of a planning step is these products (bench core reports the fraction of
the GEMM peak), so the layers run as few kernels as possible: on a CPU with oneDNN
each layer is one oneDNN matmul with its activation fused into it, on weights
reordered once into oneDNN's blocked layout (what torch.compile's CPU backend does);
elsewhere it is addmm and an in-place activation. A ReBAL context is constant for a
predictor, so its share of the first layer is folded into that layer's bias.
"""

import logging

from meta_mpc_ros.core.layers import ActivationLayer, LinearLayer
import torch

LOGGER = logging.getLogger(__name__)


def native_bfloat16(device):
    """Return True where matrix products in bfloat16 run natively (not emulated)."""
    device = torch.device(device)
    if device.type == 'cuda':
        return torch.cuda.is_bf16_supported()
    return device.type == 'cpu' and torch.backends.mkldnn.is_available() \
        and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def planning_dtype(name, device='cpu'):
    """
    Return the torch dtype to plan in for a configured precision name.

    bfloat16 is asked for speed; on a CPU without bf16 matrix instructions (AVX2 only:
    no avx512_bf16, avx_ne_convert or AMX) it is emulated and tens of times slower than
    float32, so planning falls back to float32 there, said once in the log.
    """
    if name == 'float32':
        return torch.float32
    if name != 'bfloat16':
        raise ValueError(f'unsupported planning dtype {name!r}')
    if native_bfloat16(device):
        return torch.bfloat16
    if not getattr(planning_dtype, 'warned', False):
        planning_dtype.warned = True
        LOGGER.warning('dtype bfloat16: this %s has no native bf16 matrix products; '
                       'planning in float32', torch.device(device).type)
    return torch.float32


def onednn_available(device, dtype):
    """Return True where layers can run as oneDNN matmuls with a fused activation."""
    return torch.device(device).type == 'cpu' and torch.backends.mkldnn.is_available() \
        and hasattr(torch.ops.mkldnn, '_linear_pointwise') \
        and (dtype == torch.float32 or dtype == torch.bfloat16 and native_bfloat16(device))


def _in_place(activation):
    """Return a core.layers.Activation as a function that may overwrite its input."""
    return activation.inplace or activation.function


class _OneDNNLayer:
    """One linear layer (and activation) as a single oneDNN matmul on reordered weights."""

    def __init__(self, weight, bias, activation):
        self.weight = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous())
        self.bias = bias.contiguous()
        # An activation oneDNN cannot fuse (elu) runs in place after the matmul.
        self.attribute = activation.onednn if activation else 'none'
        self.after = _in_place(activation) if activation and activation.onednn == 'none' \
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
        self.after = _in_place(activation) if activation else None

    def __call__(self, inputs):
        """Return (B, out) from (B, in)."""
        output = torch.addmm(self.bias, inputs, self.weight)
        return output if self.after is None else self.after(output)


def _kernels(layers, params, context, layer_class, dtype):
    """
    Compile a layer list (core.layers) into the callables the predictor chains.

    Each linear layer becomes one kernel with the activation after it fused in; any
    other layer runs on its own (its `in_place` where it has one).

    :param params: name -> tensor.
    :param context: (context_dim,) a ReBAL context folded into the first layer, or None.
    :return: list of (B, in) -> (B, out) callables, input to output.
    """
    if context is not None and not isinstance(layers[0], LinearLayer):
        raise ValueError('a context needs a linear first layer')
    kernels, position = [], 0
    while position < len(layers):
        layer = layers[position]
        if not isinstance(layer, LinearLayer):
            kernels.append(getattr(layer, 'in_place', layer))
            position += 1
            continue
        weight = params[layer.weight].detach().float()
        bias = params[layer.bias].detach().float()
        if context is not None and not position:
            # W [x, c] + b = W_x x + (W_c c + b): the context is fixed.
            width = weight.shape[1] - len(context)
            bias = bias + weight[:, width:] @ context
            weight = weight[:, :width]
        following = layers[position + 1] if position + 1 < len(layers) else None
        activation = following.activation if isinstance(following, ActivationLayer) else None
        kernels.append(layer_class(weight.to(dtype), bias.to(dtype), activation))
        position += 2 if activation else 1
    return kernels


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
        if config.context_dim and adapted.context is None:
            raise ValueError('a ReBAL model needs a context to predict')
        layer_class = _OneDNNLayer if onednn_available(model.input_mean.device, dtype) \
            else _AddmmLayer
        with torch.no_grad():
            self.layers = _kernels(model.layers, adapted.params,
                                   adapted.context.detach().reshape(-1)
                                   if config.context_dim else None,
                                   layer_class, dtype)

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
