"""
`meta-mpc bench core`: planner, adaptation and meta-training speed on this machine.

For the paper's 3 x 512 model (and optionally a smaller one) it times, in one run and
with the same model, K and H:

    ours      MPPI step (sample, roll out, score, update) with the millirobot's cost
    floor     H forward passes of batch K: what any sampling planner must pay
    peer      pytorch_mppi's MPPI.command with the same dynamics and an equivalent cost

and prints medians in ms, our overhead over the floor, and the control rate. It also
times one GrBAL adaptation step (M = 16 and 32) and one (meta-)training step.
"""

import statistics
import time

from meta_mpc_ros.bench.report import print_table
from meta_mpc_ros.core.adapters import Adapted, GrBALAdapter, Window
from meta_mpc_ros.core.costs import build_cost, CostContext
from meta_mpc_ros.core.dataset import WindowBatch
from meta_mpc_ros.core.millirobot import MILLIROBOT_ACTION, MILLIROBOT_STATE
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.core.objectives import objective
from meta_mpc_ros.core.planning.mppi import MPPI, MPPIConfig
from meta_mpc_ros.core.predictor import Predictor
from meta_mpc_ros.core.reference import PathTracker, ReferencePath
import torch

SIZES = ((500, 10), (1000, 20), (2000, 30))
DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16}


def add_arguments(parser):
    """Add this benchmark's options to an argparse parser."""
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--repeats', type=int, default=20, help='timed calls per cell')
    parser.add_argument('--hidden', default='512,512,512',
                        help='hidden sizes of the model, e.g. 512,512,512 or 128,128')
    parser.add_argument('--sizes', default=','.join(f'{k}x{h}' for k, h in SIZES),
                        help='(K, H) pairs, e.g. 500x10,1000x20')
    parser.add_argument('--no-peer', action='store_true', help='skip pytorch_mppi')
    parser.add_argument('--json', default='', help='also write the rows to this JSON file')


def median_ms(function, repeats, warmup=3, synchronize=None):
    """Return the median wall time of `function()` in ms."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        if synchronize:
            synchronize()
        start = time.perf_counter()
        function()
        if synchronize:
            synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def make_model(hidden, device, seed=0):
    """Return a DynamicsModel of the millirobot's sizes with random weights."""
    config = ModelConfig(MILLIROBOT_STATE.dim, MILLIROBOT_ACTION.dim,
                         MILLIROBOT_STATE.model_input_indices, tuple(hidden))
    return DynamicsModel(config).reset_parameters(torch.Generator().manual_seed(seed)).to(
        device)


def planning_context(device):
    """Return the figure-8 cost context from the start of the path."""
    points, headings, along = PathTracker(ReferencePath.make('figure8', 0.5)).local_segment(1.0)
    as_tensor = {'dtype': torch.float32, 'device': device}
    return CostContext(torch.tensor(points[::2], **as_tensor),
                       torch.tensor(headings[::2], **as_tensor),
                       torch.tensor(along[::2], **as_tensor),
                       torch.zeros(MILLIROBOT_ACTION.dim, **as_tensor))


COST_TERMS = [{'name': 'path_tracking', 'weight': 1.0, 'distance': 1.0, 'heading': 0.1,
               'progress': 1.0},
              {'name': 'control_effort', 'weight': 1e-4}]


def peer_planner(predictor, context, num_samples, horizon, device):
    """Return pytorch_mppi's MPPI with the same dynamics and an equivalent running cost."""
    import pytorch_mppi

    cost = build_cost(COST_TERMS, MILLIROBOT_STATE)
    tracking = cost.terms[0]

    def running_cost(states, actions):
        # The same distance + heading terms per step; progress scored at the end below.
        squared = (states[:, None, :2] - context.path_points[None]).pow(2).sum(-1)
        distance, nearest = squared.min(-1)
        yaw = torch.atan2(states[:, 6], states[:, 5])
        error = torch.remainder(yaw - context.path_headings[nearest] + torch.pi,
                                2 * torch.pi) - torch.pi
        return (tracking.distance * distance.sqrt() + tracking.heading * error.abs()
                + 1e-4 * actions.pow(2).sum(-1))

    def terminal_cost(states, actions):
        # pytorch_mppi passes (rollout_samples, K, H, nx).
        final = states[..., -1, :2].reshape(-1, 2)
        squared = (final[:, None] - context.path_points[None]).pow(2).sum(-1)
        return -tracking.progress * context.path_arclength[squared.argmin(-1)]

    low = torch.tensor(MILLIROBOT_ACTION.low, device=device)
    high = torch.tensor(MILLIROBOT_ACTION.high, device=device)
    return pytorch_mppi.MPPI(predictor, running_cost, MILLIROBOT_STATE.dim,
                             noise_sigma=torch.diag(torch.full((2,), 16.0, device=device)),
                             num_samples=num_samples, horizon=horizon, device=device,
                             terminal_state_cost=terminal_cost, lambda_=1.0,
                             u_min=low, u_max=high)


def planner_rows(args, model, label, device, synchronize):
    """Time ours, the floor and the peer for each (K, H) and dtype."""
    rows = []
    params = model.meta_parameters()
    context = planning_context(device)
    state = torch.zeros(MILLIROBOT_STATE.dim, device=device)
    state[MILLIROBOT_STATE.index('cos_yaw')] = 1.0
    state[MILLIROBOT_STATE.index('cos_left')] = 1.0
    state[MILLIROBOT_STATE.index('cos_right')] = -1.0
    for size in args.sizes.split(','):
        num_samples, horizon = (int(v) for v in size.split('x'))
        for dtype_name, dtype in DTYPES.items():
            predictor = Predictor(model, Adapted(params), dtype)
            planner = MPPI(MPPIConfig(num_samples, horizon, noise_sigma=(4.0,)),
                           build_cost(COST_TERMS, MILLIROBOT_STATE), MILLIROBOT_ACTION.low,
                           MILLIROBOT_ACTION.high, MILLIROBOT_STATE.dim,
                           torch.Generator(device).manual_seed(0), device)
            batch_states = state.expand(num_samples, -1).contiguous()
            batch_actions = torch.full((num_samples, MILLIROBOT_ACTION.dim), 10.0,
                                       device=device)

            def floor():
                current = batch_states
                for _ in range(horizon):
                    current = predictor(current, batch_actions)

            floor_ms = median_ms(floor, args.repeats, synchronize=synchronize)
            ours_ms = median_ms(lambda: planner.plan(predictor, state, context), args.repeats,
                                synchronize=synchronize)
            peer_ms = None
            if not args.no_peer:
                try:
                    peer = peer_planner(predictor, context, num_samples, horizon, device)
                    peer_ms = median_ms(lambda: peer.command(state), args.repeats,
                                        synchronize=synchronize)
                except ImportError:
                    peer_ms = None
            rows.append({'model': label, 'K': num_samples, 'H': horizon, 'dtype': dtype_name,
                         'floor_ms': floor_ms, 'ours_ms': ours_ms,
                         'overhead_pct': 100.0 * (ours_ms - floor_ms) / floor_ms,
                         'ours_hz': 1e3 / ours_ms, 'pytorch_mppi_ms': peer_ms,
                         'vs_pytorch_mppi': (peer_ms / ours_ms) if peer_ms else None})
    return rows


def adaptation_rows(args, model, label, device, synchronize):
    """Time one GrBAL step for M = 16 and 32."""
    params = model.meta_parameters()
    step_size = {name: torch.full_like(value, 1e-3) for name, value in params.items()}
    adapter = GrBALAdapter(step_size)
    generator = torch.Generator().manual_seed(0)
    rows = []
    for window in (16, 32):
        states = torch.randn(window + 1, MILLIROBOT_STATE.dim, generator=generator).to(device)
        actions = torch.rand(window, MILLIROBOT_ACTION.dim, generator=generator).to(device)
        data = Window(states, actions)
        milliseconds = median_ms(lambda: adapter.adapt(model, params, data), args.repeats,
                                 synchronize=synchronize)
        rows.append({'model': label, 'M': window, 'grbal_adapt_ms': milliseconds})
    return rows


def training_rows(args, model, label, device, synchronize, batch_size=32, steps=16):
    """Time one optimiser step of each method on a batch of M = K = 16 windows."""
    generator = torch.Generator().manual_seed(0)
    batch = WindowBatch(
        torch.randn(batch_size, 2 * steps + 1, MILLIROBOT_STATE.dim, generator=generator),
        torch.rand(batch_size, 2 * steps, MILLIROBOT_ACTION.dim, generator=generator),
        steps).to(device)
    rows = []
    for method in ('mb', 'grbal', 'rebal'):
        trained = model
        if method == 'rebal':
            config = ModelConfig(**{**model.config.__dict__, 'context_dim': 32})
            trained = DynamicsModel(config).to(device)
        params = dict(trained.named_parameters())
        step_size = {name: torch.full_like(value, 1e-3, requires_grad=True)
                     for name, value in params.items()}
        optimizer = torch.optim.Adam(list(params.values()) + list(step_size.values()), 1e-4)

        def step():
            loss = objective(method, trained, params, step_size, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        milliseconds = median_ms(step, max(5, args.repeats // 2), synchronize=synchronize)
        rows.append({'model': label, 'method': method, 'batch_windows': batch_size,
                     'step_ms': milliseconds,
                     'windows_per_s': batch_size * 1e3 / milliseconds})
    return rows


def run(args):
    """Run the benchmark and print its tables; return 0."""
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    synchronize = torch.cuda.synchronize if device.type == 'cuda' else None
    hidden = [int(h) for h in args.hidden.split(',')]
    label = 'x'.join(str(h) for h in hidden)
    model = make_model(hidden, device)
    where = torch.cuda.get_device_name(device) if device.type == 'cuda' else \
        f'CPU, {torch.get_num_threads()} threads'
    print(f'meta-mpc bench core: model {label} ReLU, state {MILLIROBOT_STATE.dim}, action '
          f'{MILLIROBOT_ACTION.dim}, {where}, torch {torch.__version__}, median of '
          f'{args.repeats}')
    planning = planner_rows(args, model, label, device, synchronize)
    print_table('MPPI step (ms); floor = H forward passes of batch K', planning,
                ['model', 'K', 'H', 'dtype', 'floor_ms', 'ours_ms', 'overhead_pct', 'ours_hz',
                 'pytorch_mppi_ms', 'vs_pytorch_mppi'])
    adaptation = adaptation_rows(args, model, label, device, synchronize)
    print_table('GrBAL adaptation step (ms)', adaptation, ['model', 'M', 'grbal_adapt_ms'])
    training = training_rows(args, model, label, device, synchronize)
    print_table('(meta-)training step, M = K = 16 (ms)', training,
                ['model', 'method', 'batch_windows', 'step_ms', 'windows_per_s'])
    if args.json:
        import json
        with open(args.json, 'w') as stream:
            json.dump({'planning': planning, 'adaptation': adaptation, 'training': training,
                       'device': where, 'torch': torch.__version__}, stream, indent=1)
    return 0
