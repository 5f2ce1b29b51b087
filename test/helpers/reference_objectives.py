"""
The slow reference GrBAL objective, kept in the tests only.

It is the objective as first written: torch.func's vmap of a per-window `grad` over
the module through functional_call. core.objectives must give the same value and the
same gradients (theta and psi), in both orders.
"""

from torch.func import grad, vmap


def reference_grbal_objective(model, params, step_size, batch, first_order=False):
    """Return mean_j L(future_j; theta - psi * grad L(past_j; theta)) (a scalar)."""
    def inner_loss(weights, states, actions):
        return model.loss(weights, states[:-1], actions, states[1:])

    def future_loss(past_states, past_actions, future_states, future_actions):
        gradients = grad(inner_loss)(params, past_states, past_actions)
        adapted = {}
        for name, value in params.items():
            gradient = gradients[name].detach() if first_order else gradients[name]
            psi = step_size[name] if isinstance(step_size, dict) else step_size
            adapted[name] = value - psi * gradient
        return inner_loss(adapted, future_states, future_actions)

    losses = vmap(future_loss)(batch.past_states, batch.past_actions,
                               batch.future_states, batch.future_actions)
    return losses.mean()


def reference_continual_losses(model, params, step_size, states, actions, past_steps,
                               future_steps, unroll_steps, decay, first_order=False):
    """Return (U,) the future losses of U continual steps on one stretch, one at a time."""
    import torch
    current, losses = params, []
    for step in range(unroll_steps):
        past_states = states[step:step + past_steps + 1]
        loss = model.loss(current, past_states[:-1], actions[step:step + past_steps],
                          past_states[1:])
        gradients = torch.autograd.grad(loss, list(current.values()),
                                        create_graph=not first_order)
        current = {name: value - step_size[name] * gradient - decay * (value - params[name])
                   for (name, value), gradient in zip(current.items(), gradients)}
        start = step + past_steps
        future = states[start:start + future_steps + 1]
        losses.append(model.loss(current, future[:-1], actions[start:start + future_steps],
                                 future[1:]))
    return losses


def reference_inner_step(model, params, step_size, states, actions, create_graph):
    """
    Return theta - psi * grad L(window; theta) by autograd on one window.

    The online GrBAL step (core.per_window.adapted_parameters) forms the same step in
    closed form; this is what it must equal.

    :param step_size: name -> tensor psi, or a scalar tensor.
    :param create_graph: keep the graph (second order).
    """
    import torch
    with torch.enable_grad():
        if not create_graph:
            params = {name: value.detach().requires_grad_(True)
                      for name, value in params.items()}
        loss = model.loss(params, states[:-1], actions, states[1:])
        gradients = torch.autograd.grad(loss, list(params.values()),
                                        create_graph=create_graph)
    adapted = {}
    for (name, value), gradient in zip(params.items(), gradients):
        psi = step_size[name] if isinstance(step_size, dict) else step_size
        adapted[name] = value - psi * gradient
        if not create_graph:
            adapted[name] = adapted[name].detach()
    return adapted
