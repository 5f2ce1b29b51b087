"""
Run the node graph for a stretch of sim time while watching it from this process.

The demo and `meta-mpc bench ros` use this: the graph's nodes run as separate
processes (graph.process), and a monitor node here records, with wall-clock receive
times, the sim clock, odometry, commands, plan stamps, terrain labels and diagnostics,
so that latency, control rate and tracking can be measured. CPU use per node comes from
/proc. The process's environment must already isolate DDS (ROS_DOMAIN_ID etc.).
"""

from dataclasses import dataclass, field
import os
import time

from diagnostic_msgs.msg import DiagnosticArray
from meta_mpc_ros.core.tensor_codec import decode
from meta_mpc_ros.ros import conversions
from meta_mpc_ros.ros.diagnostics import read_status
from meta_mpc_ros.ros.graph import build_graph
from meta_mpc_ros.ros.graph.process import GraphProcess
from nav_msgs.msg import Odometry, Path
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from std_msgs.msg import Float64MultiArray, String, UInt8MultiArray


@dataclass
class Observations:
    """What the monitor saw; every entry starts with the wall time it arrived (s)."""

    sim_time: float = 0.0
    odom: list = field(default_factory=list)        # (wall, stamp_s, x, y)
    cmd: list = field(default_factory=list)         # (wall, left, right)
    plan: list = field(default_factory=list)        # (wall, stamp_s)
    model: list = field(default_factory=list)       # (wall, bytes, version, stamp_s)
    terrain: list = field(default_factory=list)     # (wall, sim_time, label)
    diagnostics: list = field(default_factory=list)  # (wall, status dict)
    reference: object = None                        # the last nav_msgs/Path


class GraphMonitor(Node):
    """Record what the running graph publishes (see Observations)."""

    def __init__(self, context):
        super().__init__('graph_monitor', context=context)
        self.seen = Observations()
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.create_subscription(Clock, '/clock', self.on_clock, 10)
        # Deep queues: a lockstep graph does not wait for this monitor, so it must not
        # lose a message when it falls behind for a while.
        self.create_subscription(Odometry, '/odom', self.on_odom, 1000)
        self.create_subscription(Float64MultiArray, '/cmd', lambda m: self.seen.cmd.append(
            (time.monotonic(), *m.data)), 50)
        self.create_subscription(Path, '/meta_mpc/plan', lambda m: self.seen.plan.append(
            (time.monotonic(), conversions.stamp_to_seconds(m.header.stamp))), 50)
        self.create_subscription(String, '/meta_mpc/terrain', self.on_terrain, latched)
        self.create_subscription(Path, '/meta_mpc/reference', self.on_reference, latched)
        self.create_subscription(DiagnosticArray, '/diagnostics', self.on_diagnostics, 1000)
        self.create_subscription(UInt8MultiArray, '/meta_mpc/model', self.on_model, QoSProfile(
            depth=1, reliability=ReliabilityPolicy.RELIABLE))

    def on_clock(self, message):
        """Track the sim time."""
        self.seen.sim_time = conversions.stamp_to_seconds(message.clock)

    def on_odom(self, message):
        """Keep the odometry's arrival time, stamp and position."""
        position = message.pose.pose.position
        self.seen.odom.append((time.monotonic(), conversions.stamp_to_seconds(
            message.header.stamp), position.x, position.y))

    def on_model(self, message):
        """Keep each model update's arrival, size, version and stamp (unreadable: skipped)."""
        now = time.monotonic()
        data = message.data.tobytes() if hasattr(message.data, 'tobytes') else bytes(
            message.data)
        try:
            metadata = decode(data)[1]
            self.seen.model.append((now, len(data), int(metadata['version']),
                                    int(metadata['stamp_ns']) * 1e-9))
        except (ValueError, KeyError):
            pass

    def on_terrain(self, message):
        """Keep every change of condition label."""
        if not self.seen.terrain or self.seen.terrain[-1][2] != message.data:
            self.seen.terrain.append((time.monotonic(), self.seen.sim_time, message.data))

    def on_reference(self, message):
        """Keep the reference path."""
        self.seen.reference = message

    def on_diagnostics(self, message):
        """Keep every status."""
        now = time.monotonic()
        self.seen.diagnostics.extend((now, read_status(status)) for status in message.status)


@dataclass
class GraphRun:
    """A finished run: the graph, what was observed, how nodes exited, CPU per node."""

    graph: object
    seen: Observations
    exits: dict
    cpu_percent: dict
    wall_seconds: float


def cpu_seconds(pid):
    """Return user + system CPU time of a process, s (0 if it is gone)."""
    try:
        with open(f'/proc/{pid}/stat') as stream:
            fields = stream.read().rsplit(')', 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def run_graph(values, run_dir, sim_seconds, env=None, wall_timeout=None, progress=None):
    """
    Start the graph, watch it until `sim_seconds` of sim time, then stop it.

    :param values: launch arguments (graph.build_graph).
    :param run_dir: run directory (logs/, bag/).
    :param sim_seconds: how much sim time to run.
    :param env: node environment (default os.environ).
    :param wall_timeout: give up after this many wall seconds (default 4 x sim_seconds
        + 60).
    :param progress: optional callable(sim_time) called about once a second.
    :return: GraphRun
    :raises RuntimeError: if a node dies, naming it, with its last log lines.
    """
    graph = build_graph(values, run_dir=run_dir)
    context = Context()
    rclpy.init(context=context)
    monitor = GraphMonitor(context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(monitor)
    nodes = GraphProcess(graph.local_nodes, graph.log_dir, env=env).start()
    start = time.monotonic()
    deadline = start + (wall_timeout or 4.0 * sim_seconds + 60.0)
    cpu_start, cpu_start_time, last_report = None, None, start
    try:
        while monitor.seen.sim_time < sim_seconds:
            executor.spin_once(timeout_sec=0.05)
            died = nodes.poll()
            if died:
                raise RuntimeError(f'node {died[0].name} exited ({died[0].returncode}):\n'
                                   + nodes.tail(died[0].name))
            if time.monotonic() > deadline:
                raise RuntimeError(f'sim time reached only {monitor.seen.sim_time:.1f} s')
            if cpu_start is None and monitor.seen.sim_time > 1.0:
                cpu_start = {name: cpu_seconds(pid) for name, pid in nodes.pids.items()}
                cpu_start_time = time.monotonic()
            if progress and time.monotonic() - last_report > 1.0:
                progress(monitor.seen.sim_time)
                last_report = time.monotonic()
        elapsed = time.monotonic() - (cpu_start_time or start)
        cpu = {name: 100.0 * (cpu_seconds(pid) - (cpu_start or {}).get(name, 0.0)) / elapsed
               for name, pid in nodes.pids.items()}
    finally:
        exits = nodes.stop()
        executor.shutdown()
        monitor.destroy_node()
        rclpy.shutdown(context=context)
    return GraphRun(graph, monitor.seen, exits, cpu, time.monotonic() - start)
