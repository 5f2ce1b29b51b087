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
    continual                   U = 4 unrolled online steps (the continual method)
    torchopt_maml               the same second-order MAML step through torchopt's
                                MetaSGD (the library's recipe: a loop over windows,
                                with a fixed scalar step, so no psi gradient to pay for)
"""

from importlib import metadata

from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.dataset import WindowBatch
from meta_mpc_ros.core.meta_training import make_step_size, TrainingConfig
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.core.objectives import METHODS, objective
from meta_mpc_ros.core.roles import BASELINE_ADAPTER, DEFAULT_ADAPTER
from meta_mpc_ros.robots.millirobot import MILLIROBOT_ACTION, MILLIROBOT_STATE
import torch

PAPER_METHOD = ADAPTERS[DEFAULT_ADAPTER].training_method
BASELINE_METHOD = ADAPTERS[BASELINE_ADAPTER].training_method
FIRST_ORDER_ROW = f'{PAPER_METHOD}_first_order'
# row name -> (objective method, psi form, first order): every training method as it
# trains by default (second order, factored psi), GrBAL followed by its other forms.
METHOD_ROWS = {}
for _method in METHODS:
    METHOD_ROWS[_method] = (_method, 'factored', False)
    if _method == PAPER_METHOD:
        METHOD_ROWS.update({
            FIRST_ORDER_ROW: (_method, 'factored', True),
            f'{_method}_per_parameter': (_method, 'per_parameter', False),
            f'{_method}_per_parameter_first_order': (_method, 'per_parameter', True)})


def random_batch(batch_size, past_steps, future_steps, device):
    """Return a WindowBatch of random millirobot-sized windows."""
    generator = torch.Generator().manual_seed(0)
    length = past_steps + future_steps
    return WindowBatch(
        torch.randn(batch_size, length + 1, MILLIROBOT_STATE.dim, generator=generator),
        torch.rand(batch_size, length, MILLIROBOT_ACTION.dim, generator=generator),
        past_steps).to(device)


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
    rows = []
    for row, (method, mode, first_order) in METHOD_ROWS.items():
        config = TrainingConfig(method=method, step_size_mode=mode, past_steps=steps,
                                future_steps=steps, unroll_steps=4)
        unrolled = METHODS[method].extra_past_steps(config)
        batch = random_batch(batch_size, steps + unrolled, steps, device)
        trained = model
        if METHODS[method].needs_context:
            model_config = ModelConfig(**{**model.config.__dict__, 'context_dim': 32})
            trained = DynamicsModel(model_config).to(device)
        params = dict(trained.named_parameters())
        step_size = make_step_size(trained, config, device)
        optimizer = torch.optim.Adam(list(params.values()) + step_size.parameters(), 1e-4)

        def step():
            loss = objective(method, trained, params, step_size, batch, first_order, config)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        rows.append({'model': label, 'method': row, 'batch_windows': batch_size,
                     'step_ms': time_ms(step, repeats)})
    if torchopt_version():
        batch = random_batch(batch_size, steps, steps, device)
        peer = DynamicsModel(model.config, model.normalizer).to(device)
        peer.load_state_dict(model.state_dict())
        rows.append({'model': label, 'method': f'torchopt_maml ({torchopt_version()})',
                     'batch_windows': batch_size,
                     'step_ms': time_ms(torchopt_maml_step(peer, batch), max(3, repeats // 3))})
    mb_ms = next(row['step_ms'] for row in rows if row['method'] == BASELINE_METHOD)
    for row in rows:
        row['windows_per_s'] = batch_size * 1e3 / row['step_ms']
        row['vs_mb'] = row['step_ms'] / mb_ms
    return rows
