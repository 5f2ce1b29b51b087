"""`meta-mpc collect`, `meta-mpc train` and `meta-mpc evaluate`."""

import json
import pathlib
import sys
import time

from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.meta_training import METHODS
from meta_mpc_ros.core.roles import DEFAULT_ADAPTER
from meta_mpc_ros.robots import ROBOTS


def add_parser(subparsers):
    """Register the three learning-workflow subcommands."""
    collect = subparsers.add_parser(
        'collect', help='gather experience across training tasks (in-process, parallel)')
    collect.add_argument('--robot', default='millirobot')
    collect.add_argument('--config', default='', help='robot YAML (default config/<robot>.yaml)')
    collect.add_argument('--episodes', type=int, default=0,
                         help="episodes (default: the config's episodes_per_iteration)")
    collect.add_argument('--checkpoint', default='',
                         help="act with this model's adaptive controller (default: random)")
    collect.add_argument('--adapter', default=DEFAULT_ADAPTER, choices=tuple(ADAPTERS))
    collect.add_argument('--condition', default='',
                         help='run every episode under this condition (e.g. a held-out test '
                              'task: disabled_joint=0, payload); default: draw each from the '
                              'training distribution')
    collect.add_argument('--seed', type=int, default=0)
    collect.add_argument('--workers', type=int, default=0, help='processes (0: all cores)')
    collect.add_argument('--out', required=True, help='dataset file to write (.npz)')
    collect.set_defaults(run=run_collect)

    train = subparsers.add_parser('train', help='(meta-)train a checkpoint from data or bags')
    train.add_argument('--method', required=True, choices=METHODS)
    train.add_argument('--data', nargs='*', default=[],
                       help='dataset .npz files and/or rosbag2 directories')
    train.add_argument('--config', default='config/millirobot.yaml')
    train.add_argument('--robot', default='',
                       help="a registered robot (robots.ROBOTS): train with its description's "
                       'config instead of --config, and read its bags with its description')
    train.add_argument('--out', required=True, help='checkpoint file to write (.pt)')
    train.add_argument('--resume', default='', help="continue a checkpoint's training")
    train.add_argument('--warm-start', default='',
                       help="start from this checkpoint's theta* (and psi with Adam's "
                       'state, where it holds a training state)')
    train.add_argument('--iterations', type=int, default=0, help='override the config')
    train.add_argument('--iterate', type=int, default=0,
                       help='Algorithm 1: rounds of collect-then-train (round 0 random)')
    train.add_argument('--episodes', type=int, default=0,
                       help='with --iterate: episodes collected per round')
    train.add_argument('--seed', type=int, default=0, help='with --iterate: collection seed')
    train.add_argument('--workers', type=int, default=0)
    train.add_argument('--device', default='cpu', help='cpu or cuda (meta-training runs on it)')
    train.add_argument('--threads', type=int, default=0,
                       help="torch threads for training (0: torch's default); 1 is fastest "
                       'on a loaded machine')
    train.add_argument('--save-data', default='',
                       help='with --iterate: write the aggregated dataset (.npz) here')
    train.add_argument('--random-episodes', type=int, default=0,
                       help='with --iterate: episodes of round 0 (random actions)')
    train.add_argument('--log-dir', default='',
                       help='training logs (and --iterate round checkpoints); default: '
                       'next to --out')
    train.add_argument('--slim', action='store_true',
                       help='write --out without the resume state (a checkpoint to ship)')
    train.add_argument('--segments', default='',
                       help='YAML list of [start_s, end_s, label] splitting bags into tasks')
    train.add_argument('--topic', action='append', default=[], metavar='ROLE:=TOPIC',
                       help="a bag's topic for a role of the robot contract (odom, "
                       'joint_states, cmd, terrain), e.g. odom:=/robot/odom; repeatable')
    train.add_argument('--joints', default='', metavar='NAME,NAME',
                       help="the bags' names of the robot's measured joints in the joint "
                       "states, in its description's order (default: the description's)")
    train.set_defaults(run=run_train)

    evaluate = subparsers.add_parser('evaluate', help='closed-loop episodes in the simulator')
    evaluate.add_argument('--checkpoint', default='', help='default: the shipped model')
    evaluate.add_argument('--adapter', default=None, choices=tuple(ADAPTERS),
                          help='default: the one the checkpoint was trained for (grbal '
                          'for the shipped model)')
    evaluate.add_argument('--robot', default='millirobot')
    evaluate.add_argument('--config', default='')
    evaluate.add_argument('--task', default='figure8')
    evaluate.add_argument('--condition', default='',
                          help="default: the robot's starting condition (its description's)")
    evaluate.add_argument('--switch-step', type=int, default=0,
                          help='change the condition at this control step')
    evaluate.add_argument('--switch-condition', default='')
    evaluate.add_argument('--steps', type=int, default=0)
    evaluate.add_argument('--episodes', type=int, default=1)
    evaluate.add_argument('--seed', type=int, default=0)
    evaluate.add_argument('--device', default='cpu')
    evaluate.add_argument('--json', default='', help='report file')
    evaluate.add_argument('--plot', default='', help='plot file (.png)')
    evaluate.add_argument('--video', default='', help='video of the first episode (.mp4/.gif)')
    evaluate.set_defaults(run=run_evaluate)


def _config(args, robot=None):
    """Load the robot config named by --config or --robot."""
    from meta_mpc_ros.pipeline.config import load_robot_config
    return load_robot_config(args.config or robot or args.robot)


def _progress(label):
    """Return a progress callback printing one line per finished episode batch."""
    start = time.perf_counter()

    def report(done, total):
        print(f'{label}: {done}/{total} episodes, {time.perf_counter() - start:.0f} s',
              flush=True)
    return report


def run_collect(args):
    """Collect episodes into a dataset file."""
    from meta_mpc_ros.pipeline.collect import collect, CollectRequest
    from meta_mpc_ros.sim.registry import make_env
    config = _config(args)
    count = args.episodes or config.collection.episodes_per_iteration
    if args.condition:
        try:    # a condition this robot does not know: one line, before any worker starts
            make_env(config.robot, condition=args.condition).close()
        except ValueError as error:
            print(f'meta-mpc collect: error: {error}', file=sys.stderr)
            return 2
    start = time.perf_counter()
    dataset = collect(CollectRequest(
        robot_config=config, episodes=count, seed=args.seed,
        checkpoint_path=args.checkpoint or None, adapter=args.adapter, workers=args.workers,
        progress=_progress('collect'), condition=args.condition or None))
    dataset.save(args.out)
    control_dt = dataset.metadata['control_dt']
    print(f'wrote {args.out}: {len(dataset)} trajectories, {dataset.steps} transitions '
          f'({dataset.steps * control_dt / 3600:.3f} sim-hours) over {len(dataset.tasks)} '
          f'tasks in {time.perf_counter() - start:.0f} s')
    return 0


def run_train(args):
    """Train (or iterate collect-and-train) and write a checkpoint."""
    from meta_mpc_ros.pipeline import train as training
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    if args.robot:
        from meta_mpc_ros.pipeline.config import load_robot_config
        config = load_robot_config(args.robot)
    else:
        config = _config(args)
    segments = None
    if args.segments:
        import yaml
        segments = [tuple(item) for item in yaml.safe_load(pathlib.Path(args.segments)
                                                           .read_text())]
    if args.iterate:
        from meta_mpc_ros.pipeline.iterate import iterate, IterateRequest
        summary = iterate(IterateRequest(
            robot_config=config, method=args.method, out=args.out, rounds=args.iterate,
            episodes=args.episodes, seed=args.seed, initial_data=args.data,
            workers=args.workers, iterations=args.iterations or None,
            save_data=args.save_data or None, random_episodes=args.random_episodes or None,
            work_dir=args.log_dir or None, slim=args.slim))
    else:
        if not args.data:
            raise SystemExit('meta-mpc train: --data is required (or use --iterate)')
        try:
            dataset = _load_bags_or_data(args, config, segments)
        except (OSError, ValueError) as error:   # a bad path, bag, remap or joint name
            print(f'meta-mpc train: error: {error}', file=sys.stderr)
            return 2
        summary = training.train(training.TrainRequest(
            robot_config=config, method=args.method, dataset=dataset, out=args.out,
            resume=args.resume or None, warm_start=args.warm_start or None,
            iterations=args.iterations or None, log_dir=args.log_dir or None,
            keep_training_state=not args.slim, device=args.device))
    print(json.dumps({key: summary[key] for key in (
        'method', 'iterations', 'best_validation_loss', 'seconds', 'transitions',
        'sim_hours', 'tasks')}, indent=1))
    print(f'wrote {args.out}')
    return 0


def _load_bags_or_data(args, config, segments):
    """Return the training dataset of --data, with --topic and --joints applied to bags."""
    from meta_mpc_ros.data.bag_dataset import parse_topic_remaps
    from meta_mpc_ros.pipeline import train as training
    from meta_mpc_ros.robots import robot_description
    joints = [name.strip() for name in args.joints.split(',') if name.strip()]
    measured = robot_description(config.robot).joints if args.joints else ()
    if args.joints and len(joints) != len(measured):
        raise ValueError(f'--joints {args.joints!r}: give {len(measured)} names, for '
                         f'{config.robot}\'s {",".join(measured)}')
    return training.load_data(args.data, config, segments=segments,
                              topics=parse_topic_remaps(args.topic), motor_joints=joints)


def evaluate_request(args):
    """Return (robot config, EvaluateRequest) of `meta-mpc evaluate`'s options."""
    from meta_mpc_ros.core.checkpoint import load_checkpoint
    from meta_mpc_ros.pipeline.evaluate import EvaluateRequest
    from meta_mpc_ros.shipped import default_adapter, resolve_checkpoint
    config = _config(args)
    adapter = args.adapter
    if not adapter:
        adapter = default_adapter(load_checkpoint(args.checkpoint).method) \
            if args.checkpoint else DEFAULT_ADAPTER
        print(f'adapter {adapter} (from the checkpoint; choose another with --adapter)')
    checkpoint = resolve_checkpoint(args.checkpoint, config.robot, adapter)
    switch = (args.switch_step, args.switch_condition) if args.switch_condition else None
    described = ROBOTS.get(config.robot)
    condition = args.condition or (described.sim.default_condition
                                   if described is not None and described.sim else '')
    return config, EvaluateRequest(
        robot_config=config, checkpoint_path=checkpoint, adapter=adapter,
        condition=condition, episodes=args.episodes, seed=args.seed, task=args.task,
        switch=switch, steps=args.steps or None, device=args.device,
        record_frames=bool(args.video))


def run_evaluate(args):
    """Evaluate a checkpoint in closed loop and write the report."""
    from meta_mpc_ros.pipeline.evaluate import evaluate, write_report
    config, request = evaluate_request(args)
    report, runs = evaluate(request)
    reference = None
    from meta_mpc_ros.robots import path_tasks
    if path_tasks(config.robot):
        from meta_mpc_ros.sim.registry import make_env
        env = make_env(config.robot, task=args.task)
        reference = env.task_path.points
        env.close()
    write_report(report, runs, args.json or None, args.plot or None, args.video or None,
                 reference)
    shown = {key: report[key] for key in ('cost', 'cost_std', 'prediction_error_before',
                                          'prediction_error_after', 'step_ms_median',
                                          'distance_mean_m')}
    print(json.dumps(shown, indent=1))
    return 0
