"""
`meta-mpc bench endurance`: the recording graph for N minutes of wall time.

Every node runs as its own process (as `meta-mpc launch` runs it) with the recorder
on. Every `--sample-s` seconds this process reads each node's resident memory
(/proc/<pid>/status VmRSS) and the bag's size on disk, and it counts zero-command
episodes on /cmd (a run of [0, 0] commands after a moving one: a safety stop, a
planning failure or a stale state). It prints RSS per node after warm-up and at the
end with the growth rate between them (a leak shows as a steady MB/min), the bag's
growth rate, and the episodes. A node that dies ends the run with its last log lines.
"""

import json
import pathlib
import time

from meta_mpc_ros.bench.report import print_table
from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.roles import DEFAULT_ADAPTER
import numpy as np


def add_arguments(parser):
    """Add this benchmark's options."""
    parser.add_argument('--minutes', type=float, default=15.0, help='wall minutes to run')
    parser.add_argument('--warmup-minutes', type=float, default=2.0,
                        help='growth is measured after this (allocators and caches fill)')
    parser.add_argument('--sample-s', type=float, default=10.0,
                        help='seconds between memory and bag samples')
    parser.add_argument('--adapter', default=DEFAULT_ADAPTER, choices=tuple(ADAPTERS))
    parser.add_argument('--checkpoint', default='')
    parser.add_argument('--run-dir', default='runs/bench-endurance')
    parser.add_argument('--json', default='')


def rss_mb(pid):
    """Return a process's resident memory in MB (None once it is gone)."""
    try:
        with open(f'/proc/{pid}/status') as stream:
            for line in stream:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def folder_mb(path):
    """Return the size of every file under a folder, MB (0 when it does not exist)."""
    path = pathlib.Path(path)
    if not path.exists():
        return 0.0
    return sum(item.stat().st_size for item in path.rglob('*') if item.is_file()) / 2 ** 20


def slope_per_minute(times_s, values):
    """Return the least-squares slope of values over time, per minute (0 for < 2 points)."""
    if len(times_s) < 2:
        return 0.0
    return float(np.polyfit(np.asarray(times_s) / 60.0, np.asarray(values), 1)[0])


class ZeroCommandEpisodes:
    """Count runs of zero commands that follow a moving command."""

    def __init__(self):
        self.commands = 0
        self.episodes = 0
        self.moving = False

    def add(self, command):
        """Take one /cmd value list."""
        self.commands += 1
        zero = all(value == 0.0 for value in command)
        if zero and self.moving:
            self.episodes += 1
        self.moving = not zero


def summarise(samples, warmup_s, names):
    """
    Return the tables' rows from the samples.

    :param samples: [(elapsed_s, {node: rss_mb}, bag_mb)].
    :param warmup_s: samples before this are left out of the growth rates.
    :param names: node names, in start order.
    :return: (node rows, bag row)
    """
    steady = [sample for sample in samples if sample[0] >= warmup_s] or samples[-1:]
    times = [sample[0] for sample in steady]
    rows = []
    for name in names:
        values = [sample[1].get(name) for sample in steady]
        kept = [(t, v) for t, v in zip(times, values) if v is not None]
        rows.append({'node': name, 'rss_mb_after_warmup': kept[0][1] if kept else None,
                     'rss_mb_end': kept[-1][1] if kept else None,
                     'rss_mb_per_min': slope_per_minute(*zip(*kept)) if len(kept) > 1
                     else 0.0})
    bag = [sample[2] for sample in steady]
    return rows, {'bag_mb_end': samples[-1][2] if samples else 0.0,
                  'bag_mb_per_min': slope_per_minute(times, bag)}


def run(args):
    """Run the graph for --minutes, print the tables; return 0, or 1 if a node died."""
    from meta_mpc_ros.ros.discovery import isolate_dds
    isolate_dds()
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from meta_mpc_ros.ros.graph import build_graph
    from meta_mpc_ros.ros.graph.process import GraphProcess
    from std_msgs.msg import Float64MultiArray
    graph = build_graph({'adapter': args.adapter, 'checkpoint': args.checkpoint,
                         'record': True}, run_dir=args.run_dir)
    context = Context()
    rclpy.init(context=context)
    watch = rclpy.create_node('endurance_watch', context=context)
    episodes = ZeroCommandEpisodes()
    watch.create_subscription(Float64MultiArray, '/cmd', lambda m: episodes.add(m.data), 50)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(watch)
    nodes = GraphProcess(graph.local_nodes, graph.log_dir).start()
    start, samples, died = time.monotonic(), [], None
    print(f'meta-mpc bench endurance: {args.minutes:g} min, run directory {graph.run_dir}',
          flush=True)
    try:
        next_sample = start
        while time.monotonic() - start < args.minutes * 60.0 and died is None:
            executor.spin_once(timeout_sec=0.1)
            ended = nodes.poll()
            if ended:
                died = ended[0]
            if time.monotonic() >= next_sample:
                next_sample += args.sample_s
                samples.append((time.monotonic() - start, {
                    name: rss_mb(pid) for name, pid in nodes.pids.items()},
                    folder_mb(graph.bag_dir)))
    finally:
        nodes.stop()
        executor.shutdown()
        watch.destroy_node()
        rclpy.shutdown(context=context)
    if died is not None:
        print(f'node {died.name} exited ({died.returncode}) after '
              f'{time.monotonic() - start:.0f} s:\n{nodes.tail(died.name)}')
        return 1
    rows, bag = summarise(samples, args.warmup_minutes * 60.0, list(nodes.pids))
    result = {'minutes': args.minutes, 'nodes': rows, 'bag': bag,
              'commands': episodes.commands, 'zero_command_episodes': episodes.episodes}
    print_table('resident memory per node (MB)', rows,
                ['node', 'rss_mb_after_warmup', 'rss_mb_end', 'rss_mb_per_min'])
    print_table('bag', [bag], ['bag_mb_end', 'bag_mb_per_min'])
    print_table('commands', [result], ['commands', 'zero_command_episodes'])
    if args.json:
        with open(args.json, 'w') as stream:
            json.dump(result, stream, indent=1)
    return 0
