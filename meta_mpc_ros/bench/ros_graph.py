"""
`meta-mpc bench ros`: the running node graph's latency, control rate and CPU use.

The graph runs as separate processes (as `meta-mpc launch` runs it) for --seconds of
sim time while a monitor in this process records arrival times. Latency from /odom to
/cmd pairs each odometry message with the command planned from it: the controller
publishes /cmd and then /meta_mpc/plan stamped with the state's (= the odometry's)
stamp, so a plan identifies its odometry, and the command is the last /cmd that
arrived before that plan. Both arrival times are on this process's clock.

Model updates: their size on the wire (/meta_mpc/model, a delta against theta*,
core.parameter_delta), and the adaptation -> plan latency of each: the adaptive node's
adaptation and encoding time (its diagnostics) plus the time from the update's arrival
to the arrival of the first plan made from a state stamped after the update was
published, i.e. the first plan that certainly used it.
"""

import bisect
import json
import statistics

from meta_mpc_ros.bench.report import print_table
from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.roles import DEFAULT_ADAPTER
import numpy as np


def add_arguments(parser):
    """Add this benchmark's options."""
    parser.add_argument('--seconds', type=float, default=30.0, help='sim seconds to run')
    parser.add_argument('--adapter', default=DEFAULT_ADAPTER, choices=tuple(ADAPTERS))
    parser.add_argument('--checkpoint', default='')
    parser.add_argument('--run-dir', default='runs/bench-ros')
    parser.add_argument('--json', default='')


def latencies(seen):
    """Return, for every planned step, the time from its /odom to its /cmd in ms."""
    odom_wall = {}
    for wall, stamp, _, _ in seen.odom:
        odom_wall.setdefault(round(stamp, 6), wall)
    cmd_walls = [entry[0] for entry in seen.cmd]
    result = []
    for plan_wall, stamp in seen.plan:
        odom = odom_wall.get(round(stamp, 6))
        index = bisect.bisect_right(cmd_walls, plan_wall) - 1
        if odom is not None and index >= 0 and cmd_walls[index] >= odom:
            result.append((cmd_walls[index] - odom) * 1e3)
    return result


def update_latencies(seen):
    """
    Return, per model update, (update -> plan, adaptation -> plan) in ms.

    :return: two lists of ms; the second only for updates whose diagnostics were seen.
    """
    plans = sorted(seen.plan, key=lambda entry: entry[1])
    stamps = [stamp for _, stamp in plans]
    costs = {}
    for _, status in seen.diagnostics:
        values = status['values']
        if 'adaptation' in status['name'] and 'version' in values and 'adapt_ms' in values:
            costs[int(float(values['version']))] = float(values['adapt_ms']) + float(
                values.get('encode_ms', 0.0))
    to_plan, from_adaptation = [], []
    for wall, _, version, stamp in seen.model:
        index = bisect.bisect_left(stamps, stamp)
        if index == len(plans):
            continue
        delay = (plans[index][0] - wall) * 1e3
        to_plan.append(delay)
        if version in costs:
            from_adaptation.append(costs[version] + delay)
    return to_plan, from_adaptation


def diagnostic_values(seen, name, key):
    """Return the float values of one diagnostics key of statuses named `name`."""
    return [float(status['values'][key]) for _, status in seen.diagnostics
            if name in status['name'] and key in status['values']]


def summarise(graph_run, settle_s=3.0):
    """Return the benchmark numbers of a finished run."""
    seen = graph_run.seen
    delays = latencies(seen)
    walls = np.array([entry[0] for entry in seen.cmd])
    steady = walls[walls > walls[0] + settle_s] if len(walls) else walls
    wall_rate = (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else 0.0
    sim_stamps = [stamp for _, stamp in seen.plan]
    sim_rate = (len(sim_stamps) - 1) / (sim_stamps[-1] - sim_stamps[0]) \
        if len(sim_stamps) > 1 else 0.0
    adapt = diagnostic_values(seen, 'adaptation', 'adapt_ms')
    compute = diagnostic_values(seen, 'mppi_controller_node: control', 'compute_ms')
    to_plan, from_adaptation = update_latencies(seen)
    sizes = [size for _, size, _, _ in seen.model]
    return {
        'steps': len(delays),
        'latency_ms_p50': float(np.percentile(delays, 50)) if delays else None,
        'latency_ms_p99': float(np.percentile(delays, 99)) if delays else None,
        'control_rate_hz_wall': wall_rate, 'control_rate_hz_sim': sim_rate,
        'real_time_factor': (seen.sim_time / graph_run.wall_seconds),
        'adapt_ms_median': statistics.median(adapt) if adapt else None,
        'plan_ms_median': statistics.median(compute) if compute else None,
        'updates': len(sizes),
        'update_kb_median': statistics.median(sizes) / 1e3 if sizes else None,
        'encode_ms_median': _median(diagnostic_values(seen, 'adaptation', 'encode_ms')),
        'update_to_plan_ms_p50': _percentile(to_plan, 50),
        'adaptation_to_plan_ms_p50': _percentile(from_adaptation, 50),
        'adaptation_to_plan_ms_p99': _percentile(from_adaptation, 99),
        'cpu_percent': graph_run.cpu_percent}


def _median(values):
    """Return the median, or None for no values."""
    return statistics.median(values) if values else None


def _percentile(values, percent):
    """Return a percentile as a float, or None for no values."""
    return float(np.percentile(values, percent)) if values else None


def run(args):
    """Run the graph, print the tables; return 0."""
    from meta_mpc_ros.ros.discovery import isolate_dds
    isolate_dds()
    from meta_mpc_ros.ros.graph.run import run_graph
    values = {'adapter': args.adapter, 'checkpoint': args.checkpoint, 'record': False}
    graph_run = run_graph(values, args.run_dir, args.seconds)
    result = summarise(graph_run)
    print(f'meta-mpc bench ros: {args.adapter}, {args.seconds:g} s of sim time, '
          f'{graph_run.wall_seconds:.0f} s wall, 2 cores shared by all nodes')
    print_table('control loop', [result], ['steps', 'latency_ms_p50', 'latency_ms_p99',
                                           'control_rate_hz_wall', 'control_rate_hz_sim',
                                           'real_time_factor', 'adapt_ms_median',
                                           'plan_ms_median'])
    print_table('model updates (KB on the wire; adaptation -> plan in ms)', [result],
                ['updates', 'update_kb_median', 'encode_ms_median', 'update_to_plan_ms_p50',
                 'adaptation_to_plan_ms_p50', 'adaptation_to_plan_ms_p99'])
    print_table('CPU per node (% of one core)', [
        {'node': name, 'cpu_percent': value} for name, value in result['cpu_percent'].items()],
        ['node', 'cpu_percent'])
    if args.json:
        with open(args.json, 'w') as stream:
            json.dump(result, stream, indent=1)
    return 0
