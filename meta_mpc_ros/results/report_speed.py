"""Section 5 of docs/RESULTS.md, speed, rendered from speed.json (bench core, sim, ros)."""

from meta_mpc_ros.core.adapters import GrBALAdapter
from meta_mpc_ros.results.markdown import number, provenance, table

PEERS = ('pytorch_mppi', 'mbrl')
PAPER = ('512x512x512', 1000, 20)
# (dtype, least fraction of the GEMM peak) at the paper's model, K = 1000, H = 20.
PEAK_TARGETS = (('bf16', 0.85), ('fp32', 0.90))
UPDATE_TARGET_KB = 220.0
# The adapter whose step bench core times; older rows, without `adapter`, are its.
TIMED_ADAPTER = GrBALAdapter.name


def speed_section(data, _):
    """Section 5: planner, adaptation, training, simulation and graph speed."""
    core = data['core']
    text = _introduction(core) + provenance(data) + '\n'
    text += _planning_table(core['planning'])
    text += ('\nms are medians over the rounds with their interquartile range; `% peak` is '
             'the GFLOP/s of our MPPI step over the GEMM peak timed in the same rounds; '
             '`floor` is H forward passes of batch K through the same model (a second '
             "reference); `vs` is the peer's median over ours (above 1: we are faster) and "
             "the verdict compares the ranges: 'overlap' claims nothing.\n\n")
    text += _adaptation_table(core.get('adaptation', []))
    text += '\n' + table(['model', 'method', 'windows per batch', 'ms per step',
                          'windows / s', 'x MB step'],
                         [[r['model'], r['method'], r['batch_windows'], number(r['step_ms']),
                           number(r['windows_per_s']), number(r.get('vs_mb'))]
                          for r in core.get('training', [])])
    text += ('\n`grbal` is second-order MAML with the factored psi that training uses '
             '(its inner gradient in closed form, core/per_window.py); `grbal_per_parameter` '
             "forms a per-window weight matrix. torchopt's row is the library's MAML recipe "
             '(MetaSGD, a loop over windows, fixed step size).\n')
    text += '\n' + targets(core) + training_targets(core)
    text += '\nSimulation, one core, random actions:\n\n' + table(
        ['robot', 'physics dt (ms)', 'control steps/s', 'real-time factor'],
        [[r['robot'], number(r['physics dt (ms)']), number(r['control steps/s']),
          number(r['real-time factor'])] for r in data['sim']])
    text += _graph_tables(data.get('ros'))
    gpu = data.get('gpu')
    text += ('\nOn a GPU:\n\n' + _planning_table(gpu['planning']) if gpu else
             '\nNo GPU was lent to the session that made this table, so there is no GPU '
             'table; `meta-mpc bench core --device cuda --json docs/results/speed_gpu.json` '
             'on a machine with one adds it.\n')
    return text


def _introduction(core):
    """Return where and how the planning table was measured, with the load warning."""
    peaks = ', '.join(f'{name} {value:.0f}' for name, value in core.get('peak_gflops', {})
                      .items())
    text = (f'One run of `meta-mpc bench core` on {core.get("cpu", core.get("device"))}, '
            f'{core.get("threads", 2)} torch threads, torch {core.get("torch")}, then `bench '
            'sim` and `bench ros`. Each planning cell times the GEMM peak, our MPPI step, the '
            f'forward-pass floor and both peers in {core.get("rounds", "?")} interleaved '
            'rounds (each round calls each once, in a rotating order). The peak is the '
            "machine's own: the fastest of torch.mm (MKL) and a oneDNN matmul, each on "
            "1024 x 1024 by 1024 x 1024 and on the planner's own layer (K rows by the "
            "model's width x width weight), in the planning dtype on the same threads"
            + (f', {peaks} GFLOP/s (median over the cells)' if peaks else '') + '. A '
            "step's FLOPs are 2 x the multiply-adds of its H x K forward passes (biases, "
            'activations and the cost are not counted), so a planner cannot exceed 100 %.\n\n')
    if core.get('warnings'):
        text += (f'**The machine was shared and loaded during this run** (load average '
                 f'{number(core.get("load_before"))} before and {number(core.get("load_after"))}'
                 f' after, over {core.get("threads", 2)} threads): absolute times are slower '
                 'and noisier than on an idle machine. The fractions of peak and the ratios to '
                 'the peers compare contestants timed in the same rounds.\n\n')
    return text


def _planning_table(planning):
    """Return the planning cells as a Markdown table."""
    header = ['model', 'K', 'H', 'dtype', 'GFLOP', 'peak GFLOP/s', 'ours ms (IQR)',
              'ours GFLOP/s', '% peak', 'floor ms', 'Hz']
    for peer in PEERS:
        header += [f'{peer} ms (IQR)', 'vs', 'verdict']
    rows = []
    for r in planning:
        row = [r['model'], r['K'], r['H'], r['dtype'], number(r.get('gflop')),
               number(r.get('peak_gflops')),
               f'{number(r["ours_ms"])} ({r.get("ours_spread", "-")})',
               number(r.get('ours_gflops')), _percent(r.get('of_peak')),
               number(r.get('floor_ms')), number(r.get('ours_hz'))]
        for peer in PEERS:
            row += [f'{number(r.get(f"{peer}_ms"))} ({r.get(f"{peer}_spread") or "-"})',
                    number(r.get(f'vs_{peer}')), r.get(f'{peer}_verdict') or '-']
        rows.append(row)
    return table(header, rows)


def _percent(fraction):
    """Return a fraction as a percentage with no decimals, or '-'."""
    return '-' if fraction is None else f'{100 * fraction:.0f} %'


def _adaptation_table(rows):
    """Return the adaptation step and model-update sizes as a Markdown table."""
    if not rows:
        return ''
    text = table(['model', 'M', 'adapter', 'GrBAL step (ms)', 'update whole (KB)',
                  'as a delta (KB)', 'x smaller', 'rank', 'truncation error',
                  'max |error|', 'encode (ms)', 'decode (ms)'],
                 [[r['model'], r['M'], r.get('adapter', TIMED_ADAPTER),
                   number(r['grbal_adapt_ms']),
                   number(r.get('update_kb_whole')), number(r.get('update_kb')),
                   number(r.get('smaller_x')), r.get('rank', '-'),
                   number(r.get('truncation_error')), number(r.get('max_abs_error')),
                   number(r.get('encode_ms')), number(r.get('decode_ms'))] for r in rows])
    return text + ('\nA model update is sent against theta*, which the controller holds '
                   "(core/parameter_delta.py): GrBAL's step as its exact rank-M factors, "
                   "continual's change carried over 20 windows as factors truncated to rank "
                   '16, with the relative Frobenius error of the truncated weight change '
                   'measured; `max |error|` is the largest difference of a decoded parameter '
                   'from the adapted one.\n')


def _graph_tables(ros):
    """Return the node graph's tables, or '' when bench ros did not run."""
    if not ros:
        return ''
    text = ('\nThe node graph (`bench ros`: all six nodes on the same 2 cores, shipped '
            'GrBAL model, K and H of config/mppi_controller_node.yaml):\n\n' + table(
                ['latency /odom -> /cmd p50 (ms)', 'p99 (ms)', 'control rate (Hz, wall)',
                 'GrBAL adaptation (ms)', 'planning (ms)'],
                [[number(ros['latency_ms_p50']), number(ros['latency_ms_p99']),
                  number(ros['control_rate_hz_wall']), number(ros['adapt_ms_median']),
                  number(ros['plan_ms_median'])]]))
    if ros.get('updates'):
        text += ('\nModel updates on /meta_mpc/model (adaptation -> plan: the adaptation and '
                 "encoding time, then the update's arrival to the first plan made from a "
                 'state stamped after it was published):\n\n' + table(
                     ['updates', 'KB each (median)', 'encode (ms)', 'update -> plan p50 (ms)',
                      'adaptation -> plan p50 (ms)', 'p99 (ms)'],
                     [[ros['updates'], number(ros.get('update_kb_median')),
                       number(ros.get('encode_ms_median')),
                       number(ros.get('update_to_plan_ms_p50')),
                       number(ros.get('adaptation_to_plan_ms_p50')),
                       number(ros.get('adaptation_to_plan_ms_p99'))]]))
    return text + '\nCPU per node (% of one core):\n\n' + table(
        ['node', 'CPU %'], [[n, number(v)] for n, v in ros['cpu_percent'].items()])


def training_targets(core):
    """Return the meta-training speed targets, met or not, for the paper's 3 x 512 model."""
    from meta_mpc_ros.bench.training import FIRST_ORDER_ROW, PAPER_METHOD as GRBAL
    rows = {r['method']: r for r in core.get('training', []) if r['model'] == '512x512x512'}
    if GRBAL not in rows or 'vs_mb' not in rows[GRBAL]:
        return ''
    lines = []
    for method, limit in ((GRBAL, 8.0), (FIRST_ORDER_ROW, 4.0)):
        ratio = rows[method]['vs_mb']
        lines.append(f'- {method} step <= {limit:g}x the MB step: '
                     f'{"met" if ratio <= limit else "NOT met"} ({ratio:.2f}x)')
    peer = next((r for name, r in rows.items() if name.startswith('torchopt')), None)
    if peer:
        faster = rows[GRBAL]['step_ms'] <= peer['step_ms']
        lines.append(f"- no slower than torchopt's MAML step: "
                     f'{"met" if faster else "NOT met"} ({rows[GRBAL]["step_ms"]:.1f} vs '
                     f'{peer["step_ms"]:.1f} ms)')
    return '\n'.join(lines) + '\n'


def targets(core):
    """Return the speed targets with met / NOT met from the measured rows."""
    lines = [f'Targets ({core.get("threads", 2)} CPU threads):\n']
    planning = core['planning']
    rows = {(r['model'], r['K'], r['H'], r['dtype']): r for r in planning}
    for dtype, least in PEAK_TARGETS:
        row = rows.get(PAPER + (dtype,))
        if row and row.get('of_peak') is not None:
            lines.append(f'- {dtype} planning at >= {100 * least:.0f} % of the {dtype} GEMM '
                         f"peak (the paper's model, K=1000, H=20): "
                         f'{"met" if row["of_peak"] >= least else "NOT met"} '
                         f'({_percent(row["of_peak"])}: {row["ours_gflops"]:.0f} of '
                         f'{row["peak_gflops"]:.0f} GFLOP/s)')
    paper = rows.get(PAPER + ('bf16',))
    if paper:
        lines.append(f"- the paper's model at K=1000, H=20 plans at >= 25 Hz: "
                     f'{"met" if paper["ours_hz"] >= 25 else "NOT met"} '
                     f'({paper["ours_hz"]:.1f} Hz in bf16 on this machine)')
    measured = [r for r in planning if r.get('of_peak') is not None]
    if measured:
        over = [r for r in measured if r['of_peak'] > 1.0]
        lines.append('- no cell faster than the peak allows (no negative overhead): '
                     + ('met in every cell' if not over else
                        f'NOT met in {len(over)} of {len(measured)} cells'))
    for peer in PEERS:
        verdicts = [r.get(f'{peer}_verdict') for r in planning if r.get(f'{peer}_verdict')]
        if verdicts:
            counts = {name: verdicts.count(name) for name in ('faster', 'overlap', 'slower')}
            met = counts['slower'] == 0
            lines.append(f'- ahead of {peer} wherever the ranges part: '
                         f'{"met" if met else "NOT met"} (faster in {counts["faster"]}, '
                         f'ranges overlap in {counts["overlap"]}, slower in '
                         f'{counts["slower"]} of {len(verdicts)} cells)')
    update = next((r for r in core.get('adaptation', []) if r['model'] == PAPER[0]
                   and r.get('adapter') == TIMED_ADAPTER and r['M'] == 16
                   and 'update_kb' in r), None)
    if update:
        lines.append(f'- a GrBAL update of the 3 x 512 model (M = 16) is <= '
                     f'{UPDATE_TARGET_KB:.0f} KB: '
                     f'{"met" if update["update_kb"] <= UPDATE_TARGET_KB else "NOT met"} '
                     f'({update["update_kb"]:.0f} KB, {update["smaller_x"]:.1f}x smaller than '
                     f'the {update["update_kb_whole"]:.0f} KB of whole weights)')
    adaptation = [r['grbal_adapt_ms'] for r in core.get('adaptation', [])
                  if r.get('grbal_adapt_ms') is not None]
    if adaptation:
        lines.append(f'- a GrBAL adaptation step takes <= 3 ms: '
                     f'{"met" if max(adaptation) <= 3.0 else "NOT met"} '
                     f'(at most {max(adaptation):.2f} ms)')
    return '\n'.join(lines) + '\n'
