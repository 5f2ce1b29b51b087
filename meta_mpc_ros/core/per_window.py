"""
GrBAL's inner step on a batch of windows, with the MLP's inner gradient in closed form.

For a linear layer h = x W^T + b, the gradient of window j's loss over its M past
transitions is a sum of M outer products,

    G_j = D_j^T X_j      D_j (M, out): dL_j/dh on the past;  X_j (M, in): the layer's inputs
    g_j = sum_t D_j[t]   (the bias)

so the adapted layer applied to the K future inputs Z_j (K, in) is

    Z_j W'_j^T + b'_j = Z_j W^T + b - Z_j (psi * G_j)^T - psi_b * g_j.

For a scalar or factored psi (psi[o, i] = row[o] column[i], core.step_size) the middle
term is ((Z_j * column) X_j^T) D_j * row: two small batched products, (K, M) and
(K, out), and no (out, in) matrix per window. A per-entry psi needs G_j itself, formed
by one batched product. D and X come from one batched forward and backward of the
inner loss with theta shared by all windows; autograd through them gives the exact
second-order meta-gradient, and detaching them gives first-order MAML.

Shapes: B windows, M past and K future transitions, nx = state_dim, nu = action_dim.
"""

import torch
from torch.nn import functional


def linear_layer_names(model):
    """Return [(weight name, bias name)] of the MLP's linear layers, input to output."""
    return [(f'network.{index}.weight', f'network.{index}.bias')
            for index, layer in enumerate(model.network)
            if isinstance(layer, torch.nn.Linear)]


def step_for(step_size, name):
    """
    Return psi of one parameter as ('scalar' | 'full' | 'factored', value).

    :param step_size: a core.step_size.StepSize, a name -> tensor dict (per entry), or
        a scalar tensor.
    """
    if hasattr(step_size, 'for_parameter'):
        return step_size.for_parameter(name)
    if isinstance(step_size, dict):
        return 'full', step_size[name]
    return 'scalar', step_size


def _normalized(model, states, actions):
    """Return the (B, T, input_dim) inputs and (B, T, nx) targets of windows."""
    return (model.normalized_inputs(states[:, :-1], actions),
            model.normalized_target(states[:, :-1], states[:, 1:]))


def _losses(output, target):
    """Return (B,) each window's mean squared error."""
    return (output - target).pow(2).mean(dim=(1, 2))


def past_statistics(model, params, states, actions, create_graph):
    """
    Run the inner loss of every window with theta and return what its gradient is made of.

    :param params: name -> tensor, theta.
    :param states: (B, M+1, nx) past states.
    :param actions: (B, M, nu).
    :param create_graph: keep the graph (second order); else the results are constants.
    :return: list per linear layer of (X (B, M, in), D (B, M, out)).
    """
    names = linear_layer_names(model)
    with torch.enable_grad():
        if not any(params[name].requires_grad for pair in names for name in pair):
            params = {name: value.detach().requires_grad_(True)
                      for name, value in params.items()}
        inputs, target = _normalized(model, states, actions)
        layer_inputs, pre_activations, hidden = [], [], inputs
        for index, (weight, bias) in enumerate(names):
            layer_inputs.append(hidden)
            hidden = functional.linear(hidden, params[weight], params[bias])
            pre_activations.append(hidden)
            if index < len(names) - 1:
                hidden = model.network[2 * index + 1](hidden)
        inner = _losses(hidden, target).sum()   # windows share no terms: per-window grads
        deltas = torch.autograd.grad(inner, pre_activations, create_graph=create_graph)
    if not create_graph:
        layer_inputs = [value.detach() for value in layer_inputs]
    return list(zip(layer_inputs, deltas))


def adapted_layer(future_inputs, weight, bias, past_inputs, delta, weight_step, bias_step):
    """
    Apply one linear layer adapted on each window's past to that window's future inputs.

    :param future_inputs: (B, K, in) Z.
    :param weight: (out, in) theta's W;  bias: (out,).
    :param past_inputs: (B, M, in) X;  delta: (B, M, out) D.
    :param weight_step: step_for(...) of the weight;  bias_step: of the bias.
    :return: (B, K, out).
    """
    kind, psi = weight_step
    bias_gradient = delta.sum(dim=1, keepdim=True)                      # (B, 1, out)
    output = functional.linear(future_inputs, weight, bias) - bias_step[1] * bias_gradient
    if kind == 'full':
        gradient = torch.bmm(delta.transpose(1, 2), past_inputs)        # (B, out, in)
        return output - torch.bmm(future_inputs, (psi * gradient).transpose(1, 2))
    row, column = psi if kind == 'factored' else (psi, None)
    scaled = future_inputs if column is None else future_inputs * column
    overlap = torch.bmm(scaled, past_inputs.transpose(1, 2))           # (B, K, M)
    return output - torch.bmm(overlap, delta) * row


def adapted_future_losses(model, params, step_size, batch, first_order=False):
    """
    Return each window's loss on its K future transitions after GrBAL's inner step.

    :param params: name -> tensor, theta.
    :param step_size: see step_for.
    :param batch: WindowBatch.
    :param first_order: treat the inner gradient as a constant (first-order MAML).
    :return: (B,) losses.
    """
    statistics = past_statistics(model, params, batch.past_states, batch.past_actions,
                                 create_graph=not first_order)
    hidden, target = _normalized(model, batch.future_states, batch.future_actions)
    names = linear_layer_names(model)
    for index, ((weight, bias), (past_inputs, delta)) in enumerate(zip(names, statistics)):
        hidden = adapted_layer(hidden, params[weight], params[bias], past_inputs, delta,
                               step_for(step_size, weight), step_for(step_size, bias))
        if index < len(names) - 1:
            hidden = model.network[2 * index + 1](hidden)
    return _losses(hidden, target)
