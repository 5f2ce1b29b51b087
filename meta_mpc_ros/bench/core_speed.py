"""
`meta-mpc bench core`: planner, adaptation and meta-training speed against this machine's peak.

For the paper's 3 x 512 model and a smaller 2 x 128 one (--models), each (K, H, dtype)
cell times these in interleaved rounds (bench.timing: each round calls every one once,
in a rotating order, so a load that comes and goes hits all of them alike):

    peak          the GEMM peak in the planning dtype on the same threads: the fastest
                  of torch.mm (MKL) and a oneDNN matmul on 1024 x 1024 by 1024 x 1024
                  and on the planner's own layer (K rows by a width x width weight)
    ours          MPPI step (sample, roll out, score, update) with the millirobot's cost
    floor         H forward passes of batch K through the same Predictor (a second
                  reference: what any sampling planner that uses it pays)
    pytorch_mppi  pytorch_mppi's MPPI.command with the same dynamics, equivalent cost
    mbrl          mbrl-lib's MPPIOptimizer.optimize (1 iteration) maximising minus our
                  TrajectoryCost of the same Predictor's rollouts

(peers.py sets the peers up). A cell reports the model FLOPs of one plan (2 x the
multiply-adds of H x K forward passes; biases, activations and the cost are not
counted), our median and interquartile range, the GFLOP/s that makes and its fraction
of the peak, the control rate, and each peer's median, range, time over ours and the
verdict of the ranges ('overlap' where they overlap: no win is claimed). The header
names the CPU; a warning is printed when the load average is over the thread count.
It also times one GrBAL adaptation step (M = 16 and 32) with the size of its model
update whole and as a delta against theta* (core.parameter_delta), and one
(meta-)training step per method (bench.training, with torchopt's MAML step as the
peer). `--device cuda` times the same on a GPU (the peak then is torch.mm's).
"""

import json
import statistics

from meta_mpc_ros.bench.peers import load_peers, MbrlMPPIPeer, peer_version, PytorchMPPIPeer
from meta_mpc_ros.bench.report import print_table
from meta_mpc_ros.bench.timing import (cpu_model, interleaved_ms, load_average, load_warning,
                                       peak_gflops, peak_products, spread, verdict)
from meta_mpc_ros.bench.training import training_rows
from meta_mpc_ros.core.adapters import Adapted, ContinualAdapter, GrBALAdapter, Window
from meta_mpc_ros.core.costs import build_cost, CostContext
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.core.model_update import pack_update, unpack_update, UpdateInfo
from meta_mpc_ros.core.parameter_delta import CARRIED_RANK, parameter_delta
from meta_mpc_ros.core.planning.common import rollout
from meta_mpc_ros.core.planning.mppi import MPPI, MPPISettings
from meta_mpc_ros.core.predictor import native_bfloat16, Predictor
from meta_mpc_ros.core.reference import PathTracker, ReferencePath
from meta_mpc_ros.robots.millirobot import MILLIROBOT_ACTION, MILLIROBOT_STATE
import torch

SIZES = ((500, 10), (1000, 20), (2000, 30))
DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16}
MODELS = '512,512,512;128,128'
NOISE_SIGMA = 4.0  # rad/s, every planner
TEMPERATURE = 1.0  # lambda, every planner
PEERS = {'pytorch_mppi': PytorchMPPIPeer, 'mbrl': MbrlMPPIPeer}
SECTIONS = ('planning', 'adaptation', 'training')
PLANNING_COLUMNS = ['model', 'K', 'H', 'dtype', 'gflop', 'peak_gflops', 'ours_ms',
                    'ours_spread', 'ours_gflops', 'of_peak', 'floor_ms', 'ours_hz',
                    'pytorch_mppi_ms', 'pytorch_mppi_spread', 'vs_pytorch_mppi',
                    'pytorch_mppi_verdict', 'mbrl_ms', 'mbrl_spread', 'vs_mbrl', 'mbrl_verdict']
ADAPTATION_COLUMNS = ['model', 'M', 'adapter', 'grbal_adapt_ms', 'update_kb_whole', 'update_kb',
                      'smaller_x', 'rank', 'truncation_error', 'max_abs_error', 'encode_ms',
                      'decode_ms']


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
    return statistics.median(interleaved_ms({'f': function}, repeats, warmup,
                                            synchronize)['f'])


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


def model_gflop(model, num_samples, horizon):
    """Return the GFLOP of one plan's rollout: 2 x the multiply-adds of H x K forward passes."""
    config = model.config
    widths = (config.input_dim,) + tuple(config.hidden_sizes) + (config.state_dim,)
    return 2.0 * sum(a * b for a, b in zip(widths[:-1], widths[1:])) * num_samples * horizon \
        / 1e9


def planner_rows(args, model, label, device, synchronize, peers):
    """
    Time ours, the GEMM peak, the forward-pass floor and each peer, interleaved, per cell.

    :param peers: dict peer name -> imported module (load_peers), only those to time.
    :return: list of row dicts; a peer that is not timed has None in its columns.
    """
    rows = []
    params = model.meta_parameters()
    context = planning_context(device)
    state = start_state(device)
    for size in args.sizes.split(','):
        num_samples, horizon = (int(v) for v in size.split('x'))
        for dtype_name, dtype in planning_dtypes(device).items():
            predictor = Predictor(model, Adapted(params), dtype)
            planner = MPPI(settings=MPPISettings(temperature=TEMPERATURE,
                                                 noise_sigma=(NOISE_SIGMA,)),
                           num_samples=num_samples, horizon=horizon,
                           cost=build_cost(COST_TERMS, MILLIROBOT_STATE),
                           action_low=MILLIROBOT_ACTION.low,
                           action_high=MILLIROBOT_ACTION.high,
                           state_dim=MILLIROBOT_STATE.dim,
                           generator=torch.Generator(device).manual_seed(0), device=device)
            actions = torch.rand(num_samples, horizon, MILLIROBOT_ACTION.dim,
                                 generator=torch.Generator().manual_seed(1)).to(device) * \
                float(MILLIROBOT_ACTION.high[0])
            contestants, flops = peak_products(
                dtype, device, layer=(num_samples, max(model.config.hidden_sizes)))
            contestants['ours'] = lambda: planner.plan(predictor, state, context)
            contestants['floor'] = lambda: rollout(predictor, state, actions)
            for name, peer_class in PEERS.items():
                if peers.get(name) is not None:
                    peer = peer_class(peers[name], predictor, COST_TERMS, context, num_samples,
                                      horizon, NOISE_SIGMA, TEMPERATURE, device)
                    contestants[name] = (lambda peer=peer: peer.plan(state))
            times = interleaved_ms(contestants, args.repeats, synchronize=synchronize)
            rows.append(planner_row(label, num_samples, horizon, dtype_name, times, flops,
                                    model_gflop(model, num_samples, horizon)))
    return rows


def planning_dtypes(device):
    """Return DTYPES less bf16 where the device only emulates it (core.predictor)."""
    return {name: dtype for name, dtype in DTYPES.items()
            if dtype != torch.bfloat16 or native_bfloat16(device)}


def planner_row(label, num_samples, horizon, dtype_name, times, peak_flops, gflop):
    """Return one cell's row from its interleaved times (see run's table)."""
    peak = peak_gflops(times, peak_flops)
    ours = spread(times['ours'])
    floor_ms = spread(times['floor'])[0]
    row = {'model': label, 'K': num_samples, 'H': horizon, 'dtype': dtype_name,
           'gflop': gflop, 'peak_gflops': peak, 'peak_floor_ms': 1e3 * gflop / peak,
           'ours_ms': ours[0], 'ours_spread': _range(ours), 'ours_gflops': gflop / ours[0] * 1e3,
           'of_peak': gflop / ours[0] * 1e3 / peak, 'floor_ms': floor_ms,
           'floor_of_peak': gflop / floor_ms * 1e3 / peak, 'ours_hz': 1e3 / ours[0]}
    for name in PEERS:
        peer = spread(times[name]) if name in times else None
        row[f'{name}_ms'] = peer[0] if peer else None
        row[f'{name}_spread'] = _range(peer) if peer else None
        row[f'vs_{name}'] = peer[0] / ours[0] if peer else None
        row[f'{name}_verdict'] = verdict(ours, peer) if peer else None
    return row


def _range(summary):
    """Return the interquartile range of a (median, low, high) summary as text."""
    return f'{summary[1]:.3g}-{summary[2]:.3g}'


def adaptation_rows(args, model, label, device, synchronize):
    """
    Time one GrBAL step for M = 16 and 32, and size its model update.

    The update is measured whole (every parameter) and as a delta against theta*
    (core.parameter_delta, exact rank-M factors), with the time to make the delta and
    pack it and the time to unpack it; `continual` rows carry a change built over 20
    windows, truncated to the node's rank, with its measured error.
    """
    params = model.meta_parameters()
    step_size = {name: torch.full_like(value, 1e-3) for name, value in params.items()}
    generator = torch.Generator().manual_seed(0)
    rows = []
    for window_size in (16, 32):
        windows = [Window(torch.randn(window_size + 1, MILLIROBOT_STATE.dim,
                                      generator=generator).to(device),
                          torch.rand(window_size, MILLIROBOT_ACTION.dim,
                                     generator=generator).to(device))
                   for _ in range(20)]
        adapter = GrBALAdapter(step_size)
        milliseconds = median_ms(lambda: adapter.adapt(model, params, windows[0]),
                                 args.repeats, synchronize=synchronize)
        adapted = adapter.adapt(model, params, windows[0])
        rows.append(dict({'model': label, 'M': window_size, 'adapter': adapter.name,
                          'grbal_adapt_ms': milliseconds},
                         **update_sizes(args, model, params, adapter, adapted, windows[0])))
        carried = ContinualAdapter(step_size, params)
        adapted = Adapted(params)
        for window in windows:
            adapted = carried.adapt(model, adapted.params, window)
        rows.append(dict({'model': label, 'M': window_size, 'adapter': carried.name,
                          'grbal_adapt_ms': None},
                         **update_sizes(args, model, params, carried, adapted, windows[-1])))
    return rows


def update_sizes(args, model, params, adapter, adapted, window):
    """Return the update's sizes whole and as a delta, its rank and error, and its times."""
    info = UpdateInfo(1, 0, adapter.name, 'bench', 0.0, 0.0, 0.0)

    def encoded():
        delta = parameter_delta(adapter, model, params, adapted.params, window, CARRIED_RANK)
        return pack_update(adapted, False, info, delta=delta), delta

    payload, delta = encoded()
    whole = pack_update(adapted, False, info)
    device = next(iter(params.values())).device
    decoded = unpack_update(payload, model, params, 'bench', device)
    error = max(float((decoded[0].params[name] - value).abs().max())
                for name, value in adapted.params.items())
    return {'update_kb_whole': len(whole) / 1e3, 'update_kb': len(payload) / 1e3,
            'smaller_x': len(whole) / len(payload), 'rank': delta.rank,
            'truncation_error': delta.error, 'max_abs_error': error,
            'encode_ms': median_ms(encoded, args.repeats),
            'decode_ms': median_ms(lambda: unpack_update(payload, model, params, 'bench',
                                                         device), args.repeats)}


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
    machine = cpu_model() if device.type == 'cpu' else where
    print(f'meta-mpc bench core: models {", ".join(models)} ReLU, state '
          f'{MILLIROBOT_STATE.dim}, action {MILLIROBOT_ACTION.dim}, {where}, {machine}, torch '
          f'{torch.__version__}, {args.repeats} interleaved rounds'
          + (f'; peers: {", ".join(notes)}' if notes else ''))
    warnings = [text for text in [load_warning(args.threads)] if text]
    if not native_bfloat16(device):
        warnings.append(f'no bf16 rows: this {device.type} has no native bf16 matrix products '
                        '(planning with dtype bfloat16 runs in float32 here)')
    load_before = load_average()
    for text in warnings:
        print(text)
    sections = set(args.sections.split(','))
    unknown = sections - set(SECTIONS)
    if unknown:
        raise SystemExit(f'meta-mpc bench core: unknown --sections {sorted(unknown)}; '
                         f'choose from {",".join(SECTIONS)}')
    planning, adaptation, training = [], [], []
    if 'planning' in sections:
        for label, model in models.items():
            planning += planner_rows(args, model, label, device, synchronize, peers)
        print_table('MPPI step: GFLOP of the rollout, the GEMM peak (GFLOP/s) timed in the '
                    'same rounds, ours (median ms, interquartile range), its GFLOP/s and '
                    'fraction of the peak; floor = H forward passes of batch K (ms); vs_* = '
                    'peer / ours, with the verdict of the spreads',
                    planning, PLANNING_COLUMNS)
    if 'adaptation' in sections:
        for label, model in models.items():
            adaptation += adaptation_rows(args, model, label, device, synchronize)
        print_table('GrBAL adaptation step (ms); model update whole and as a delta against '
                    'theta* (KB), its rank, truncation error and times (ms)', adaptation,
                    ADAPTATION_COLUMNS)
    if 'training' in sections:
        for label, model in models.items():
            training += training_rows(
                model, label, device,
                lambda function, repeats: median_ms(function, repeats, synchronize=synchronize),
                max(5, args.repeats // 2))
        print_table('(meta-)training step, M = K = 16, batch 32 (ms); vs_mb = step / MB step',
                    training, ['model', 'method', 'batch_windows', 'step_ms', 'windows_per_s',
                               'vs_mb'])
    after = load_warning(args.threads)
    if after:
        print(after)
        warnings.append(after)
    peaks = {name: statistics.median(row['peak_gflops'] for row in planning
                                     if row['dtype'] == name)
             for name in DTYPES if any(row['dtype'] == name for row in planning)}
    if peaks:
        print('GEMM peak on these threads, median over the cells (GFLOP/s): ' + ', '.join(
            f'{name} {value:.0f}' for name, value in peaks.items()))
    if args.json:
        with open(args.json, 'w') as stream:
            json.dump({'planning': planning, 'adaptation': adaptation, 'training': training,
                       'models': list(models), 'peers': notes, 'device': where,
                       'cpu': machine, 'threads': args.threads, 'peak_gflops': peaks,
                       'load_before': load_before, 'load_after': load_average(),
                       'warnings': warnings, 'rounds': args.repeats,
                       'torch': torch.__version__}, stream, indent=1)
    return 0
