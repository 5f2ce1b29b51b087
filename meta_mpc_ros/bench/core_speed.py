"""
`meta-mpc bench core`: planner, adaptation and meta-training speed on this machine.

For the paper's 3 x 512 model and a smaller 2 x 128 one (--models) it times, in one
run and with the same model, K and H:

    ours          MPPI step (sample, roll out, score, update) with the millirobot's cost
    floor         H forward passes of batch K: what any sampling planner must pay
    pytorch_mppi  pytorch_mppi's MPPI.command with the same dynamics, equivalent cost
    mbrl          mbrl-lib's MPPIOptimizer.optimize (1 iteration) maximising minus our
                  TrajectoryCost of the same Predictor's rollouts

(peers.py sets the peers up) and prints medians in ms, our overhead over the floor, the
control rate and each peer's time over ours ('-' where a peer is not installed). It also
times one GrBAL adaptation step (M = 16 and 32) and one (meta-)training step per method
(bench.training, with torchopt's MAML step as the peer).
"""

import statistics
import time

from meta_mpc_ros.bench.peers import load_peers, MbrlMPPIPeer, peer_version, PytorchMPPIPeer
from meta_mpc_ros.bench.report import print_table
from meta_mpc_ros.bench.training import training_rows
from meta_mpc_ros.core.adapters import Adapted, GrBALAdapter, Window
from meta_mpc_ros.core.costs import build_cost, CostContext
from meta_mpc_ros.core.millirobot import MILLIROBOT_ACTION, MILLIROBOT_STATE
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.core.planning.mppi import MPPI, MPPIConfig
from meta_mpc_ros.core.predictor import Predictor
from meta_mpc_ros.core.reference import PathTracker, ReferencePath
import torch

SIZES = ((500, 10), (1000, 20), (2000, 30))
DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16}
MODELS = '512,512,512;128,128'
NOISE_SIGMA = 4.0  # rad/s, every planner
TEMPERATURE = 1.0  # lambda, every planner
PEERS = {'pytorch_mppi': PytorchMPPIPeer, 'mbrl': MbrlMPPIPeer}
SECTIONS = ('planning', 'adaptation', 'training')


def add_arguments(parser):
    """Add this benchmark's options to an argparse parser."""
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--repeats', type=int, default=20, help='timed calls per cell')
    parser.add_argument('--models', default=MODELS,
                        help='hidden sizes of each model, models separated by semicolons, '
                        'e.g. "512,512,512;128,128"')
    parser.add_argument('--hidden', default='',
                        help='one model only, e.g. 512,512,512 (overrides --models)')
    parser.add_argument('--sizes', default=','.join(f'{k}x{h}' for k, h in SIZES),
                        help='(K, H) pairs, e.g. 500x10,1000x20')
    parser.add_argument('--no-peer', action='store_true',
                        help='skip the peer planners (pytorch_mppi, mbrl)')
    parser.add_argument('--sections', default=','.join(SECTIONS),
                        help=f'which tables to time, comma-separated from {",".join(SECTIONS)}')
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
    config = ModelConfig(state_dim=MILLIROBOT_STATE.dim, action_dim=MILLIROBOT_ACTION.dim,
                         input_indices=MILLIROBOT_STATE.model_input_indices,
                         hidden_sizes=tuple(hidden))
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


def start_state(device):
    """Return the (nx,) state every planner plans from: at the origin, facing +x."""
    state = torch.zeros(MILLIROBOT_STATE.dim, device=device)
    state[MILLIROBOT_STATE.index('cos_yaw')] = 1.0
    state[MILLIROBOT_STATE.index('cos_left')] = 1.0
    state[MILLIROBOT_STATE.index('cos_right')] = -1.0
    return state


def planner_rows(args, model, label, device, synchronize, peers):
    """
    Time ours, the floor and each available peer for each (K, H) and dtype.

    :param peers: dict peer name -> imported module (load_peers), only those to time.
    :return: list of row dicts; a peer that is not timed has None in its columns.
    """
    rows = []
    params = model.meta_parameters()
    context = planning_context(device)
    state = start_state(device)
    for size in args.sizes.split(','):
        num_samples, horizon = (int(v) for v in size.split('x'))
        for dtype_name, dtype in DTYPES.items():
            predictor = Predictor(model, Adapted(params), dtype)
            planner = MPPI(MPPIConfig(num_samples=num_samples, horizon=horizon,
                                      temperature=TEMPERATURE, noise_sigma=(NOISE_SIGMA,)),
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
            row = {'model': label, 'K': num_samples, 'H': horizon, 'dtype': dtype_name,
                   'floor_ms': floor_ms, 'ours_ms': ours_ms,
                   'overhead_pct': 100.0 * (ours_ms - floor_ms) / floor_ms,
                   'ours_hz': 1e3 / ours_ms}
            for name, peer_class in PEERS.items():
                peer_ms = None
                if peers.get(name) is not None:
                    peer = peer_class(peers[name], predictor, COST_TERMS, context, num_samples,
                                      horizon, NOISE_SIGMA, TEMPERATURE, device)
                    peer_ms = median_ms(lambda: peer.plan(state), args.repeats,
                                        synchronize=synchronize)
                row[f'{name}_ms'] = peer_ms
                row[f'vs_{name}'] = peer_ms / ours_ms if peer_ms else None
            rows.append(row)
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


def model_sizes(args):
    """Return the hidden sizes of each model to time, as tuples of ints."""
    models = args.hidden or args.models
    return [tuple(int(h) for h in hidden.split(',')) for hidden in models.split(';')
            if hidden.strip()]


def run(args):
    """Run the benchmark and print its tables; return 0."""
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    synchronize = torch.cuda.synchronize if device.type == 'cuda' else None
    where = torch.cuda.get_device_name(device) if device.type == 'cuda' else \
        f'CPU, {torch.get_num_threads()} threads'
    models = {'x'.join(str(h) for h in hidden): make_model(hidden, device)
              for hidden in model_sizes(args)}
    peers = {}
    notes = []
    if not args.no_peer:
        for name, (module, why) in load_peers().items():
            peers[name] = module
            notes.append(f'{name} {peer_version(name)}' if module else
                         f'{name} unavailable ({why})')
    print(f'meta-mpc bench core: models {", ".join(models)} ReLU, state '
          f'{MILLIROBOT_STATE.dim}, action {MILLIROBOT_ACTION.dim}, {where}, torch '
          f'{torch.__version__}, median of {args.repeats}'
          + (f'; peers: {", ".join(notes)}' if notes else ''))
    sections = set(args.sections.split(','))
    unknown = sections - set(SECTIONS)
    if unknown:
        raise SystemExit(f'meta-mpc bench core: unknown --sections {sorted(unknown)}; '
                         f'choose from {",".join(SECTIONS)}')
    planning, adaptation, training = [], [], []
    if 'planning' in sections:
        for label, model in models.items():
            planning += planner_rows(args, model, label, device, synchronize, peers)
        print_table('MPPI step (ms); floor = H forward passes of batch K; vs_* = peer / ours',
                    planning, ['model', 'K', 'H', 'dtype', 'floor_ms', 'ours_ms',
                               'overhead_pct', 'ours_hz', 'pytorch_mppi_ms', 'vs_pytorch_mppi',
                               'mbrl_ms', 'vs_mbrl'])
    if 'adaptation' in sections:
        for label, model in models.items():
            adaptation += adaptation_rows(args, model, label, device, synchronize)
        print_table('GrBAL adaptation step (ms)', adaptation, ['model', 'M', 'grbal_adapt_ms'])
    if 'training' in sections:
        for label, model in models.items():
            training += training_rows(
                model, label, device,
                lambda function, repeats: median_ms(function, repeats, synchronize=synchronize),
                max(5, args.repeats // 2))
        print_table('(meta-)training step, M = K = 16, batch 32 (ms); vs_mb = step / MB step',
                    training, ['model', 'method', 'batch_windows', 'step_ms', 'windows_per_s',
                               'vs_mb'])
    if args.json:
        import json
        with open(args.json, 'w') as stream:
            json.dump({'planning': planning, 'adaptation': adaptation, 'training': training,
                       'models': list(models), 'peers': notes, 'device': where,
                       'torch': torch.__version__}, stream, indent=1)
    return 0
