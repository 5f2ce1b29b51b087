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

The future can be scored one step ahead (the paper's loss) or, as the planner uses the
model, by open-loop rollouts: `rollout_steps` R cuts the scored transitions into
chunks of R, each rolled out from the true state at its start over the executed
actions, and compares the states reached (core.per_window.rollout_errors). R = 1 is
the one-step loss.

Shapes: B windows, M past and K future transitions, nx = state_dim, nu = action_dim.
"""

from meta_mpc_ros.core.layers import apply_layers
import torch
from torch.nn import functional


def linear_layer_names(model):
    """Return [(weight name, bias name)] of the MLP's linear layers, input to output."""
    return [(layer.weight, layer.bias) for layer in model.linear_layers()]


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


def _forward(model, params, step_size, corrections, inputs):
    """
    Run the MLP adapted by `corrections`; also return each layer's inputs and pre-activations.

    :param corrections: per linear layer, a list of (coefficient, X, D): the adapted
        layer is theta's minus sum(coefficient * psi * step made of X, D).
    :param inputs: (B, T, input_dim).
    :return: (output (B, T, nx), [layer inputs], [pre-activations]), the lists by linear
        layer.
    """
    layer_inputs, pre_activations = [], []

    def linear(layer, params, hidden):
        layer_inputs.append(hidden)
        output = adapted_layer(hidden, params[layer.weight], params[layer.bias],
                               corrections[len(pre_activations)],
                               step_for(step_size, layer.weight), step_for(step_size, layer.bias))
        pre_activations.append(output)
        return output

    output = apply_layers(model.layers, params, inputs, linear)
    return output, layer_inputs, pre_activations


def no_corrections(model):
    """Return the corrections of theta itself: an empty list per linear layer."""
    return [[] for _ in linear_layer_names(model)]


def past_statistics(model, params, step_size, corrections, states, actions, create_graph):
    """
    Run the inner loss of every window and return what its gradient is made of.

    :param params: name -> tensor, theta.
    :param corrections: the adapted parameters the gradient is taken at (see _forward);
        no_corrections(model) for theta.
    :param states: (B, M+1, nx) past states.
    :param actions: (B, M, nu).
    :param create_graph: keep the graph (second order); else the results are constants.
    :return: (list per linear layer of (X (B, M, in), D (B, M, out)), (B,) inner losses).
    """
    with torch.enable_grad():
        if not any(value.requires_grad for value in params.values()):
            params = {name: value.detach().requires_grad_(True)
                      for name, value in params.items()}
        inputs, target = _normalized(model, states, actions)
        output, layer_inputs, pre_activations = _forward(model, params, step_size,
                                                         corrections, inputs)
        losses = _losses(output, target)
        # Windows share no terms, so these are each window's own gradients.
        deltas = torch.autograd.grad(losses.sum(), pre_activations,
                                     create_graph=create_graph)
    if not create_graph:
        layer_inputs = [value.detach() for value in layer_inputs]
        losses = losses.detach()
    return list(zip(layer_inputs, deltas)), losses


def adapted_layer(future_inputs, weight, bias, corrections, weight_step, bias_step):
    """
    Apply one linear layer, adapted by inner steps, to each window's inputs.

    :param future_inputs: (B, K, in) Z.
    :param weight: (out, in) theta's W;  bias: (out,).
    :param corrections: list of (coefficient, X (B, M, in), D (B, M, out)), one per step.
    :param weight_step: step_for(...) of the weight;  bias_step: of the bias.
    :return: (B, K, out).
    """
    output = functional.linear(future_inputs, weight, bias)
    kind, psi = weight_step
    for coefficient, past_inputs, delta in corrections:
        bias_gradient = delta.sum(dim=1, keepdim=True)                  # (B, 1, out)
        if kind == 'full':
            gradient = torch.matmul(delta.transpose(1, 2), past_inputs)    # (B, out, in)
            step = torch.matmul(future_inputs, (psi * gradient).transpose(1, 2))
        else:
            row, column = psi if kind == 'factored' else (psi, None)
            scaled = future_inputs if column is None else future_inputs * column
            overlap = torch.matmul(scaled, past_inputs.transpose(1, 2))   # (B, K, M)
            step = torch.matmul(overlap, delta) * row
        output = output - coefficient * (step + bias_step[1] * bias_gradient)
    return output


def rollout_errors(model, predict_delta, states, actions, rollout_steps):
    """
    Return (B,) each sequence's error of open-loop rollouts over chunks of R transitions.

    The T transitions are cut into chunks of R = `rollout_steps` (the last may be
    shorter); each chunk starts from the true state at its start and is rolled out over
    its executed actions. The error of a predicted state s^ against the state reached s
    is ((s^ - s) / delta_std)^2, averaged over the nx entries and the T predictions, so
    that with R = 1 it is exactly the normalised one-step MSE. All chunks advance
    together: R sequential model calls on (B, C) states, C = ceil(T / R).

    :param predict_delta: (states (B, C, nx), actions (B, C, nu)) -> (B, C, nx) the
        normalised delta the model predicts (the network output).
    :param states: (B, T+1, nx);  actions: (B, T, nu).
    :param rollout_steps: R >= 1.
    :return: (B,) errors.
    """
    batch, steps = actions.shape[:2]
    chunks = -(-steps // rollout_steps)
    padded = chunks * rollout_steps
    # Pad the sequences to whole chunks by repeating the last transition; the padding's
    # errors are masked out.
    pad = padded - steps
    if pad:
        actions = torch.cat([actions, actions[:, -1:].expand(-1, pad, -1)], dim=1)
        states = torch.cat([states, states[:, -1:].expand(-1, pad, -1)], dim=1)
    valid = (torch.arange(padded, device=states.device) < steps).view(chunks, rollout_steps)
    starts = torch.arange(chunks, device=states.device) * rollout_steps
    predicted, total = states[:, starts], 0.0
    for offset in range(rollout_steps):
        delta = predict_delta(predicted, actions[:, starts + offset])
        predicted = predicted + model.delta_mean + model.delta_std * delta
        error = ((predicted - states[:, starts + offset + 1]) / model.delta_std).pow(2)
        total = total + (error.mean(dim=-1) * valid[:, offset]).sum(dim=1)
    return total / steps


def future_losses(model, params, step_size, corrections, states, actions, rollout_steps=1):
    """
    Return (B,) each window's loss with the adapted parameters `corrections` describe.

    :param rollout_steps: R, see rollout_errors (1: the one-step loss, in one batch).
    """
    if rollout_steps == 1:
        inputs, target = _normalized(model, states, actions)
        return _losses(_forward(model, params, step_size, corrections, inputs)[0], target)
    return rollout_errors(
        model, lambda state, action: _forward(model, params, step_size, corrections,
                                              model.normalized_inputs(state, action))[0],
        states, actions, rollout_steps)


def adapted_parameters(model, params, step_size, states, actions):
    """
    Take GrBAL's inner step on one window and return theta' itself (the online step).

    theta' = theta - psi * grad L(window; theta), each layer's gradient formed from the
    same statistics as the batched objective: G = D^T X and g = sum_t D.

    :param params: name -> tensor, theta (the MLP's linear layers).
    :param step_size: see step_for.
    :param states: (M+1, nx).
    :param actions: (M, nu).
    :return: name -> tensor dict, theta', detached.
    """
    statistics, _ = past_statistics(model, params, step_size, no_corrections(model),
                                    states[None], actions[None], create_graph=False)
    adapted = dict(params)
    for (weight, bias), (past_inputs, delta) in zip(linear_layer_names(model), statistics):
        adapted[weight] = params[weight] - _entrywise(step_for(step_size, weight)) * (
            delta[0].transpose(0, 1) @ past_inputs[0])
        adapted[bias] = params[bias] - _entrywise(step_for(step_size, bias)) * delta[0].sum(0)
    return {name: value.detach() for name, value in adapted.items()}


def _entrywise(step):
    """Return psi of one parameter as a tensor that multiplies its gradient."""
    kind, psi = step
    if kind == 'factored':
        row, column = psi
        return row[:, None] * column[None, :]
    return psi


def adapted_future_losses(model, params, step_size, batch, first_order=False,
                          rollout_steps=1):
    """
    Return each window's loss on its K future transitions after GrBAL's inner step.

    :param params: name -> tensor, theta.
    :param step_size: see step_for.
    :param batch: WindowBatch.
    :param first_order: treat the inner gradient as a constant (first-order MAML).
    :param rollout_steps: R, how the future is scored (see rollout_errors).
    :return: (B,) losses.
    """
    statistics, _ = past_statistics(model, params, step_size, no_corrections(model),
                                    batch.past_states, batch.past_actions,
                                    create_graph=not first_order)
    corrections = [[(1.0, past_inputs, delta)] for past_inputs, delta in statistics]
    return future_losses(model, params, step_size, corrections, batch.future_states,
                         batch.future_actions, rollout_steps)


def continual_future_losses(model, params, step_size, states, actions, past_steps,
                            future_steps, unroll_steps, decay, first_order=False,
                            rollout_steps=1):
    """
    Return the losses of `unroll_steps` consecutive online steps of the continual adapter.

    Step u adapts the parameters carried from step u-1 on the window of M transitions
    starting at u, pulled back toward theta,

        theta_u = theta_{u-1} - psi * grad L(past_u; theta_{u-1}) - decay (theta_{u-1} - theta),

    and is scored on the K transitions after that window. Each correction of theta is
    kept as (coefficient, X, D), so earlier steps fade by (1 - decay) per step.

    :param states: (B, M + U - 1 + K + 1, nx) one stretch of one trajectory per row.
    :param actions: (B, M + U - 1 + K, nu).
    :param rollout_steps: R, how each future is scored (see rollout_errors).
    :return: (B, U) future losses of each window after each step.
    """
    corrections = no_corrections(model)
    losses = []
    for step in range(unroll_steps):
        past = slice(step, step + past_steps)
        future = slice(step + past_steps, step + past_steps + future_steps)
        statistics, _ = past_statistics(
            model, params, step_size, corrections, states[:, past.start:past.stop + 1],
            actions[:, past], create_graph=not first_order)
        corrections = [[(coefficient * (1.0 - decay), x, d) for coefficient, x, d in layer]
                       + [(1.0, past_inputs, delta)]
                       for layer, (past_inputs, delta) in zip(corrections, statistics)]
        losses.append(future_losses(model, params, step_size, corrections,
                                    states[:, future.start:future.stop + 1], actions[:, future],
                                    rollout_steps))
    return torch.stack(losses, dim=1)
