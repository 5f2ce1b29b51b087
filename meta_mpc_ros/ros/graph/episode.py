"""
One evaluation episode through the node graph in lockstep, as a cross-check of in-process.

`graph_episode(request)` starts the graph (config/graph.yaml, every node its own process,
over DDS) with lockstep on, the simulator seeded and conditioned as the in-process
environment resets it, and the reference node on the environment's path; it listens
to /meta_mpc/state and /meta_mpc/applied_command in this process and stops the graph
once `steps` commands were applied. In lockstep the result does not depend on the
machine's speed, and equals `pipeline.episodes.run_episode` of the same episode
(test/ros/test_lockstep.py checks it).
"""

from dataclasses import dataclass, replace
import os
import time

from meta_mpc_ros.robots import DEFAULT_ROBOT, robot_description
from meta_mpc_ros.ros import conversions
from meta_mpc_ros.ros.graph.description import build_graph
from meta_mpc_ros.ros.graph.process import GraphProcess
import numpy as np

# sim_node's latched label of the world (the recorder labels the bag's tasks by it).
TERRAIN_TOPIC = '/meta_mpc/terrain'


@dataclass(frozen=True, kw_only=True)
class GraphEpisodeRequest:
    """
    One lockstep episode in the graph.

    :param arguments: launch arguments (checkpoint, adapter, task, terrain_schedule...);
        lockstep, record and the simulator are set here.
    :param sim_seed: the simulator's reset seed (MillirobotEnv.reset draws it).
    :param condition: the world condition the robot starts in.
    :param scale: the reference path's size, m (the environment's task scale).
    :param steps: control steps to run.
    :param run_dir: directory of the graph's logs.
    :param env: environment of the node processes (its ROS domain); its
        ROS_DOMAIN_ID is also the listener's.
    :param timeout_s: wall-clock limit of the whole episode.
    :param record: also record a rosbag2 (run_dir/bag).
    """

    arguments: dict
    sim_seed: int
    condition: str
    scale: float
    steps: int
    run_dir: str
    env: dict
    timeout_s: float = 600.0
    record: bool = False


@dataclass
class GraphEpisode:
    """What the graph did: states (T+1, nx) and applied actions (T, nu), by stamp."""

    states: np.ndarray
    actions: np.ndarray
    state_stamps: np.ndarray
    action_stamps: np.ndarray
    wall_s: float
    logs: str

    def state_steps(self):
        """Return each state's control step (the listener may have missed t = 0)."""
        period = float(np.median(np.diff(self.action_stamps)))
        return np.round(self.state_stamps / period).astype(int)


def _entries(request):
    """Return the graph's local node entries with the episode's settings applied."""
    graph = build_graph(dict(request.arguments, lockstep='true', sim='mujoco',
                             record=str(request.record).lower()), run_dir=request.run_dir)
    overrides = {'sim_node': {'seed': int(request.sim_seed), 'condition': request.condition},
                 'reference_node': {'scale': float(request.scale)}}
    return graph, [replace(entry, parameters=dict(entry.parameters,
                                                  **overrides.get(entry.name, {})))
                   for entry in graph.local_nodes]


def _recording(node, topic):
    """Return whether the bag recorder has subscribed to a topic."""
    return any(endpoint.node_name == 'bag_recorder'
               for endpoint in node.get_subscriptions_info_by_topic(topic))


def graph_episode(request):
    """
    Run one lockstep episode through the graph; return a GraphEpisode.

    :raises RuntimeError: when a node exits or the episode exceeds its wall-clock limit.
    """
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import JointState

    graph, entries = _entries(request)
    command_topic = robot_description(
        request.arguments.get('robot', DEFAULT_ROBOT)).command_interface.topic
    context = Context()
    rclpy.init(context=context, domain_id=int(request.env['ROS_DOMAIN_ID']))
    node = rclpy.create_node('graph_episode_listener', context=context)
    states, actions = {}, {}

    def on_state(message):
        stamp = conversions.stamp_to_nanoseconds(message.header.stamp)
        states.setdefault(stamp, np.array(message.position, dtype=np.float64))

    def on_action(message):
        stamp = conversions.stamp_to_nanoseconds(message.header.stamp)
        actions.setdefault(stamp, np.array(message.velocity, dtype=np.float64))

    node.create_subscription(JointState, '/meta_mpc/state', on_state, 100)
    node.create_subscription(JointState, '/meta_mpc/applied_command', on_action, 100)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    # The controller starts once this listener has discovered the estimator's and the
    # simulator's publishers (and the recorder has subscribed to the commands, to the
    # world's label and to /clock, without which it drops what it hears): until it
    # answers, the lockstep simulator stands at t = 0, so no state or command is sent
    # before the listener (or the bag) can hear it.
    controller = [entry for entry in entries if entry.executable == 'mppi_controller_node']
    rest = [entry for entry in entries if entry not in controller]
    processes = GraphProcess(rest, graph.log_dir, env=request.env)
    answering = GraphProcess(controller, graph.log_dir, env=request.env)
    start = time.monotonic()
    try:
        processes.start()
        while not (node.count_publishers('/meta_mpc/state') and
                   node.count_publishers('/meta_mpc/applied_command') and
                   (not request.record or all(_recording(node, topic) for topic in
                                              (command_topic, TERRAIN_TOPIC, '/clock')))):
            executor.spin_once(timeout_sec=0.1)
            if processes.poll() or time.monotonic() - start > request.timeout_s:
                raise RuntimeError(f'the graph did not come up; logs in {graph.log_dir}')
        answering.start()
        while len(actions) < request.steps or len(states) < request.steps + 1:
            executor.spin_once(timeout_sec=0.1)
            exited = processes.poll() + answering.poll()
            if exited:
                raise RuntimeError(f'node exited during the episode: {exited}; logs in '
                                   f'{graph.log_dir}')
            if time.monotonic() - start > request.timeout_s:
                raise RuntimeError(f'the episode took over {request.timeout_s} s of wall '
                                   f'time ({len(actions)} of {request.steps} steps); logs '
                                   f'in {graph.log_dir}')
    finally:
        wall = time.monotonic() - start
        answering.stop(timeout=15.0)
        processes.stop(timeout=15.0)
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
    state_stamps = sorted(states)[:request.steps + 1]
    action_stamps = sorted(actions)[:request.steps]
    return GraphEpisode(states=np.array([states[s] for s in state_stamps]),
                        actions=np.array([actions[s] for s in action_stamps]),
                        state_stamps=np.array(state_stamps) * 1e-9,
                        action_stamps=np.array(action_stamps) * 1e-9, wall_s=wall,
                        logs=str(graph.log_dir))


def sim_seed(seed):
    """Return the simulator seed that a path environment's reset(seed=seed) resets with."""
    from gymnasium.utils import seeding
    from meta_mpc_ros.sim.path_env import PathTaskEnv
    return PathTaskEnv.sim_seed(seeding.np_random(int(seed))[0])


def twin_request(*, checkpoint, adapter, task, condition, seed, steps, run_dir, env,
                 switch=None, record=False, robot='millirobot', world=''):
    """
    Return the GraphEpisodeRequest of the in-process episode with these settings.

    :param seed: the episode seed (EpisodeRequest.seed, the environment's reset seed).
    :param switch: optional (step, condition spec), as in-process: a terrain schedule.
    :param robot: the simulated robot (its environment in sim.registry).
    :param world: the simulator's world (the robot description's; '' is its default),
        whose environment the in-process episode runs.
    """
    from meta_mpc_ros.robots import path_tasks
    from meta_mpc_ros.sim.path_env import DEFAULT_TASK_SCALES
    from meta_mpc_ros.sim.registry import robot_specs
    arguments = {'checkpoint': str(checkpoint), 'adapter': adapter, 'task': task,
                 'robot': robot, 'sim_world': world}
    if switch is not None:
        control_dt = robot_specs(robot)[2]
        arguments['terrain_schedule'] = f'{switch[0] * control_dt:.6f}:{switch[1]}'
    # A path robot's environment draws its simulator's seed; a legged environment
    # resets its simulation with the episode seed itself, and follows no path.
    follows_paths = bool(path_tasks(robot))
    return GraphEpisodeRequest(arguments=arguments,
                               sim_seed=sim_seed(seed) if follows_paths else int(seed),
                               condition=condition,
                               scale=DEFAULT_TASK_SCALES[task] if follows_paths else 0.0,
                               steps=steps, run_dir=str(run_dir), env=env, record=record)


def run_through_graph(args):
    """
    `meta-mpc evaluate --through-graph`: every episode in-process and through the graph.

    Both run on one torch thread (as the nodes plan), so that they can be equal to the
    bit; the report gives, per episode, the largest state and action difference.

    :param args: `meta-mpc evaluate`'s options.
    :return: 0 when every episode is equal, 1 otherwise.
    """
    import dataclasses
    import json
    import pathlib
    import tempfile

    from meta_mpc_ros.pipeline.commands import evaluate_request
    from meta_mpc_ros.pipeline.evaluate import episode_seeds, evaluate
    from meta_mpc_ros.ros.discovery import isolate_dds

    config, request = evaluate_request(args)
    from meta_mpc_ros.sim.registry import simulated_robots
    if config.robot not in simulated_robots():
        raise ValueError(f'--through-graph runs a robot that sim_node simulates '
                         f'({", ".join(simulated_robots())}), not {config.robot}')
    request = dataclasses.replace(request, threads=1, record_frames=False)
    report, runs = evaluate(request)
    env = isolate_dds(dict(os.environ))
    rows = []
    with tempfile.TemporaryDirectory(prefix='through_graph_') as folder:
        for index, (seed, run) in enumerate(zip(episode_seeds(request.seed, request.episodes),
                                                runs)):
            graph = graph_episode(twin_request(
                checkpoint=request.checkpoint_path, adapter=request.adapter,
                task=request.task or 'figure8', condition=request.condition, seed=seed,
                steps=run.steps, run_dir=pathlib.Path(folder) / str(index), env=env,
                switch=request.switch, robot=config.robot))
            states = np.array(run.states)[graph.state_steps()]
            rows.append({'seed': seed, 'steps': run.steps, 'wall_s': graph.wall_s,
                         'max_state_difference': float(np.abs(graph.states - states).max()),
                         'max_action_difference': float(
                             np.abs(graph.actions - np.array(run.actions)).max())})
            print(json.dumps(rows[-1]), flush=True)
    report['through_graph'] = rows
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(report, indent=1))
    equal = all(row['max_state_difference'] == 0.0 and row['max_action_difference'] == 0.0
                for row in rows)
    print(f'cost {report["cost"]:.4f} in-process; the graph is '
          f'{"equal to it in every episode" if equal else "NOT equal to it"} '
          f'({len(rows)} episodes)')
    return 0 if equal else 1
