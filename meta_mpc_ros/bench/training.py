"""
(Meta-)training step times for `meta-mpc bench core`.

One optimiser step (objective, backward, Adam) on a batch of M = K = 16 windows, per
method, with the ratio to MB's step:

    mb                          MSE on all M+K transitions
    rebal                       GRU context from the past, loss on the future
    grbal                       second-order MAML with a factored psi (the default)
    grbal_first_order           the same, first order
    grbal_per_parameter         second order, psi per parameter (the paper's general form)
    grbal_per_parameter_first_order
    torchopt_maml               the same second-order MAML step through torchopt's
                                MetaSGD (the library's recipe: a loop over windows,
                                with a fixed scalar step, so no psi gradient to pay for)
"""

from importlib import metadata

from meta_mpc_ros.core.dataset import WindowBatch
from meta_mpc_ros.core.meta_training import make_step_size, TrainingConfig
from meta_mpc_ros.core.millirobot import MILLIROBOT_ACTION, MILLIROBOT_STATE
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.core.objectives import objective
import torch

# row name -> (objective method, psi form, first order)
METHOD_ROWS = {
    'mb': ('mb', 'factored', False),
    'rebal': ('rebal', 'factored', False),
    'grbal': ('grbal', 'factored', False),
    'grbal_first_order': ('grbal', 'factored', True),
    'grbal_per_parameter': ('grbal', 'per_parameter', False),
    'grbal_per_parameter_first_order': ('grbal', 'per_parameter', True),
}


def random_batch(batch_size, steps, device):
    """Return a WindowBatch of random millirobot-sized windows, M = K = steps."""
    generator = torch.Generator().manual_seed(0)
    return WindowBatch(
        torch.randn(batch_size, 2 * steps + 1, MILLIROBOT_STATE.dim, generator=generator),
        torch.rand(batch_size, 2 * steps, MILLIROBOT_ACTION.dim, generator=generator),
        steps).to(device)


def torchopt_version():
    """Return torchopt's version, or None where it is not installed."""
    try:
        return metadata.version('torchopt')
    except metadata.PackageNotFoundError:
        return None


def torchopt_maml_step(model, batch, inner_step_size=1e-3):
    """
    Return a function running one second-order MAML step through torchopt.MetaSGD.

    :param model: DynamicsModel; its own parameters are theta.
    """
    import torchopt

    outer = torch.optim.Adam(model.parameters(), 1e-4)
    inner = torchopt.MetaSGD(model, lr=inner_step_size)

    def loss(states, actions):
        # The module's own forward: MetaSGD swaps adapted tensors into the module.
        output = model(states[:-1], actions)
        return (output - model.normalized_target(states[:-1], states[1:])).pow(2).mean()

    def step():
        outer.zero_grad()
        initial = torchopt.extract_state_dict(model)
        for j in range(len(batch.states)):
            inner.step(loss(batch.past_states[j], batch.past_actions[j]))
            future = loss(batch.future_states[j], batch.future_actions[j])
            (future / len(batch.states)).backward()
            torchopt.recover_state_dict(model, initial)
        outer.step()
    return step


def training_rows(model, label, device, time_ms, repeats, batch_size=32, steps=16):
    """
    Time one step of each METHOD_ROWS entry and of the torchopt peer.

    :param time_ms: median_ms-like timer, (function, repeats) -> milliseconds.
    :return: list of row dicts with step_ms, windows_per_s and vs_mb.
    """
    batch = random_batch(batch_size, steps, device)
    rows = []
    for row, (method, mode, first_order) in METHOD_ROWS.items():
        trained = model
        if method == 'rebal':
            config = ModelConfig(**{**model.config.__dict__, 'context_dim': 32})
            trained = DynamicsModel(config).to(device)
        params = dict(trained.named_parameters())
        step_size = make_step_size(trained, TrainingConfig(step_size_mode=mode), device)
        optimizer = torch.optim.Adam(list(params.values()) + step_size.parameters(), 1e-4)

        def step():
            loss = objective(method, trained, params, step_size, batch, first_order)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        rows.append({'model': label, 'method': row, 'batch_windows': batch_size,
                     'step_ms': time_ms(step, repeats)})
    if torchopt_version():
        peer = DynamicsModel(model.config, model.normalizer).to(device)
        peer.load_state_dict(model.state_dict())
        rows.append({'model': label, 'method': f'torchopt_maml ({torchopt_version()})',
                     'batch_windows': batch_size,
                     'step_ms': time_ms(torchopt_maml_step(peer, batch), max(3, repeats // 3))})
    mb_ms = rows[0]['step_ms']
    for row in rows:
        row['windows_per_s'] = batch_size * 1e3 / row['step_ms']
        row['vs_mb'] = row['step_ms'] / mb_ms
    return rows
