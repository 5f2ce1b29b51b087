"""
Training for the legged results: budgets, per-family configs, Algorithm 1 and oracles.

results/legged.py evaluates and reports what this trains; results/sample_efficiency.py
reuses its cached rounds. See results/legged.py for the experiment as a whole.

The training grid runs on a `results.grid.Executor` (Ray tasks, or serially), in two
waves over all families at once:

1. GrBAL's Algorithm 1 per family, and one oracle per held-out test task (its own
   Algorithm 1 with MB on that task); each collects its episodes as Ray tasks too;
2. MB, ReBAL and `continual` per family, on GrBAL's aggregated data (the very same
   transitions); `continual` warm-starts from GrBAL's last round, psi and Adam included.
"""

from dataclasses import asdict, dataclass, replace
import json
import pathlib

from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.dataset import TrajectoryDataset
from meta_mpc_ros.core.objectives import METHODS
from meta_mpc_ros.core.roles import BASELINE_ADAPTER, DEFAULT_ADAPTER
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.pipeline.iterate import iterate, IterateRequest
from meta_mpc_ros.pipeline.train import train, TrainRequest
from meta_mpc_ros.results.common import RUNS, Stopwatch
from meta_mpc_ros.sim.registry import environment_class

FAMILIES = ('half_cheetah_disabled_joint', 'half_cheetah_hills', 'half_cheetah_pier',
            'ant_crippled_leg')
# The paper's protocol: GrBAL's Algorithm 1 collects each family's data, every other
# training method trains on the aggregated data, and an oracle is MB on its test task.
COLLECTOR = ADAPTERS[DEFAULT_ADAPTER].training_method
ORACLE = ADAPTERS[BASELINE_ADAPTER].training_method
AGGREGATED = tuple(method for method in METHODS if method != COLLECTOR)
# Checkpoints trained on the training tasks (all on the same aggregated data).
TRAINED = (COLLECTOR,) + AGGREGATED


@dataclass(frozen=True)
class Budget:
    """
    What one budget trains and measures per family; None keeps config/<family>.yaml's.

    :param rounds: Algorithm-1 rounds (round 0 acts randomly).
    :param random_episodes: episodes of round 0 (random actions).
    :param episodes: episodes per later round (with the current controller).
    :param episode_steps: control steps per collected episode.
    :param iterations: (meta-)training iterations per round.
    :param aggregate_iterations: iterations of MB and ReBAL on the aggregated data, and of
        the oracle's final MB on its own.
    :param continual_iterations: iterations of the aggregated methods that learn psi
        (`continual`), warm-started from GrBAL's last round.
    :param hidden_sizes: the MLP's hidden layers.
    :param num_samples: the planner's samples per control step.
    :param eval_episodes: evaluation episodes (seeds) per method and test task.
    :param eval_steps: control steps per evaluation episode.
    :param test_tasks: evaluate the first n test tasks of each family (0: all).
    :param oracle_rounds: Algorithm-1 rounds of each oracle: the same random episodes,
        then the same number of controller episodes in fewer, larger rounds (0: rounds).
    """

    rounds: int
    random_episodes: int
    episodes: int
    episode_steps: int = None
    iterations: int = None
    aggregate_iterations: int = None
    continual_iterations: int = None
    hidden_sizes: tuple = None
    num_samples: int = None
    eval_episodes: int = 5
    eval_steps: int = None
    test_tasks: int = 0
    oracle_rounds: int = 0

    def transitions(self, steps):
        """Return the aggregated transitions after each round (episodes of `steps`)."""
        return [(self.random_episodes + r * self.episodes) * steps for r in range(self.rounds)]

    def oracle_episodes(self):
        """Return the episodes of each oracle round: as many in all as GrBAL's rounds."""
        rounds = self.oracle_rounds or self.rounds
        controller = (self.rounds - 1) * self.episodes
        later = [controller // (rounds - 1) + (index < controller % (rounds - 1))
                 for index in range(rounds - 1)] if rounds > 1 else []
        return [self.random_episodes] + later


BUDGET_SETTINGS = {
    # Small rounds from the start, as the paper: 10 random episodes (random episodes
    # cost almost nothing to simulate, and 3 left round 0's model, and so every later
    # round's controller, too poor to leave the start), then 7 rounds of 3 controller
    # episodes, all of 1000 steps: 31,000 transitions per family (and per oracle on its
    # test task, in 3 rounds: 10 random, then 11 and 10). Up to 600 iterations per round
    # (warm-started), 4000 for MB, ReBAL and the oracle's final MB, 300 for continual
    # (~0.4 s each: 4 unrolled second-order steps). Random shooting with 250 samples
    # (config: 500) halves the cost of every controller episode. 20 evaluation episodes
    # of 1000 steps (10 left 95 % intervals of +-50 to +-350 on the pier and the ant, as
    # wide as the gaps between methods) on the first test task of each family
    # (half_cheetah_hills has 4). Sized to run in about 1.5 h on this 2-core machine
    # (docs/RESULTS.md gives the measured times).
    'full': Budget(rounds=8, random_episodes=10, episodes=3, episode_steps=1000,
                   iterations=600, aggregate_iterations=4000, continual_iterations=300,
                   num_samples=250, eval_episodes=20, eval_steps=1000, test_tasks=1,
                   oracle_rounds=3),
    # The paper's: 50 rounds of 5 rollouts of 1000 steps (5 random, then 49 x 5 with the
    # controller: 250,000 transitions per family and per oracle), the 3 x 512 model,
    # config/<family>.yaml's iterations per round and planner (500 samples), every test
    # task. Hours on a Ray cluster (`make results BUDGET=paper RAY_ADDRESS=auto`).
    'paper': Budget(rounds=50, random_episodes=5, episodes=5, episode_steps=1000,
                    aggregate_iterations=20000, continual_iterations=1500,
                    hidden_sizes=(512, 512, 512), eval_episodes=20, eval_steps=1000),
    'smoke': Budget(rounds=2, random_episodes=2, episodes=1, episode_steps=40, iterations=3,
                    aggregate_iterations=3, continual_iterations=3, hidden_sizes=(32, 32),
                    num_samples=32, eval_episodes=2, eval_steps=25, test_tasks=1),
}


def family_config(family, budget, seed):
    """
    Return the RobotConfig of a family under a budget (config/<family>.yaml + overrides).

    :param budget: a Budget.
    :param seed: seeds training and the planner's noise.
    """
    config = load_robot_config(family)
    model = config.model if budget.hidden_sizes is None else \
        replace(config.model, hidden_sizes=tuple(budget.hidden_sizes))
    training = replace(config.training, seed=seed,
                       **_given(iterations=budget.iterations))
    collection = replace(config.collection, **_given(
        episodes_per_iteration=budget.episodes, episode_steps=budget.episode_steps))
    controller = replace(config.controller, seed=seed,
                         **_given(num_samples=budget.num_samples))
    evaluation = replace(config.evaluation, **_given(episode_steps=budget.eval_steps))
    return replace(config, model=model, training=training, collection=collection,
                   controller=controller, evaluation=evaluation)


def _given(**values):
    """Return the keyword arguments that are not None."""
    return {key: value for key, value in values.items() if value is not None}


def held_out_tasks(family, budget):
    """Return the held-out test conditions a budget evaluates."""
    tasks = tuple(environment_class(family).TEST_CONDITIONS)
    tasks = tuple(t if isinstance(t, str) else t.to_spec() for t in tasks)
    return tasks[:budget.test_tasks] if budget.test_tasks else tasks


def settings_record(config, budget):
    """Return the JSON-ready settings that identify a cached run."""
    record = {'budget': asdict(budget), 'config': asdict(config)}
    record['config'].pop('source')
    return json.loads(json.dumps(record))


def iterate_on_task(config, condition, out, budget, seed, mapper, iterations):
    """
    Run Algorithm 1 with MB on one task only (the oracle); write its final MB to `out`.

    The same random episodes and as many controller episodes (`Budget.oracle_episodes`,
    in fewer rounds) of the same length as GrBAL's Algorithm 1, so the same data volume,
    but every episode runs under `condition`; the final model is MB trained afresh on
    all of it for `iterations` (as MB is on GrBAL's data).

    :param mapper: callable(function, jobs) that runs the collection episodes.
    :return: dict with 'rounds' (per-round transitions, validation loss), 'transitions'
        and 'sim_hours' of the aggregated data, 'best_validation_loss' of the final model.
    """
    out = pathlib.Path(out)
    data_path = out.with_name(f'{out.stem}_data.npz')
    summary = iterate(IterateRequest(
        robot_config=config, method=ORACLE, out=out.with_name(f'{out.stem}_last{out.suffix}'),
        rounds=len(budget.oracle_episodes()), schedule=budget.oracle_episodes(),
        condition=condition, seed=seed, save_data=data_path, mapper=mapper,
        progress=False))
    merged = TrajectoryDataset.load(data_path)
    final = train(TrainRequest(robot_config=config, method=ORACLE, dataset=merged, out=out,
                               iterations=iterations, progress=False))
    return {'rounds': summary['rounds'], 'transitions': merged.steps,
            'sim_hours': final['sim_hours'],
            'best_validation_loss': final['best_validation_loss']}


def grbal_job(job):
    """Grid entry point: GrBAL's Algorithm 1 on the training tasks of one family."""
    config, directory, budget, seed, executor = job
    directory = pathlib.Path(directory)
    with Stopwatch() as watch:
        summary = iterate(IterateRequest(
            robot_config=config, method=COLLECTOR, out=directory / f'{COLLECTOR}.pt',
            rounds=budget.rounds, episodes=budget.episodes, seed=seed,
            random_episodes=budget.random_episodes, save_data=directory / 'data.npz',
            mapper=executor.map_jobs, progress=False))
    return {'rounds': summary['rounds'], 'sim_hours': summary['sim_hours'],
            'seconds': watch.seconds}


def oracle_job(job):
    """Grid entry point: the oracle of one test task (Algorithm 1 with MB on it)."""
    config, task, path, budget, seed, executor = job
    with Stopwatch() as watch:
        result = iterate_on_task(config, task, path, budget, seed, executor.map_jobs,
                                 budget.aggregate_iterations)
    return dict(result, seconds=watch.seconds)


def aggregate_job(job):
    """Grid entry point: MB, ReBAL or continual on GrBAL's aggregated data."""
    config, method, data_path, out, iterations, warm_start = job
    summary = train(TrainRequest(robot_config=config, method=method,
                                 dataset=TrajectoryDataset.load(data_path), out=out,
                                 warm_start=warm_start, iterations=iterations, progress=False))
    return {'seconds': summary['seconds'], 'iterations': summary['iterations'],
            'best_validation_loss': summary['best_validation_loss']}


def _cached(directory, settings):
    """Return the manifest of a finished run with these settings, or None."""
    path = directory / 'manifest.json'
    if not path.is_file():
        return None
    manifest = json.loads(path.read_text())
    paths = [manifest['checkpoints'][key] for key in TRAINED]
    paths += list(manifest['checkpoints']['oracle'].values())
    if manifest.get('settings') == settings and all(pathlib.Path(p).is_file() for p in paths):
        return dict(manifest, cached=True)
    return None


def train_families(families, budget_name, seed, executor, runs=RUNS):
    """
    Train (or load from the cache) GrBAL, MB, ReBAL, continual and the oracles.

    :param families: family names.
    :param executor: a results.grid.Executor (Ray tasks or serial).
    :return: family -> manifest: 'directory', 'checkpoints' (grbal, mb, rebal, continual
        and oracle -> task -> path), 'data' (transitions, sim-hours, rounds), 'oracles'
        (task -> data volume), 'train_seconds' (summed over the family's jobs),
        'job_seconds', 'settings', 'cached' (bool).
    """
    budget = BUDGET_SETTINGS[budget_name]
    manifests, pending = {}, {}
    for family in families:
        config = family_config(family, budget, seed)
        directory = pathlib.Path(runs) / 'legged' / family / f'{budget_name}_seed{seed}'
        settings = settings_record(config, budget)
        manifest = _cached(directory, settings)
        if manifest is not None:
            manifests[family] = manifest
            continue
        directory.mkdir(parents=True, exist_ok=True)
        pending[family] = (config, directory, settings)
    if not pending:
        return manifests
    # Wave 1: GrBAL's Algorithm 1 and every oracle, all families at once; the longest
    # chains (the longest planning horizon) first.
    jobs, keys = [], []
    for family, (config, directory, _) in sorted(
            pending.items(), key=lambda item: -item[1][0].controller.horizon):
        jobs.append((config, str(directory), budget, seed, executor))
        keys.append((family, COLLECTOR, None))
    oracle_jobs = []
    for family, (config, directory, _) in pending.items():
        for index, task in enumerate(held_out_tasks(family, budget)):
            oracle_jobs.append((config, task, str(directory / f'oracle_{index}.pt'), budget,
                                seed + 1000 * (index + 1), executor))
            keys.append((family, 'oracle', task))
    results = _map_mixed(executor, [(grbal_job, job) for job in jobs]
                         + [(oracle_job, job) for job in oracle_jobs])
    first = dict(zip(keys, results))
    # Wave 2: MB, ReBAL and continual on each family's aggregated data.
    jobs, keys = [], []
    for family, (config, directory, _) in pending.items():
        data = str(directory / 'data.npz')
        last = str(directory / f'{COLLECTOR}_round{budget.rounds - 1}.pt')
        for method in AGGREGATED:
            # A method that learns psi starts from GrBAL's last round (psi, Adam included).
            learns_psi = METHODS[method].learns_step_size
            iterations = budget.continual_iterations if learns_psi else \
                budget.aggregate_iterations
            warm = last if learns_psi else None
            jobs.append((config, method, data, str(directory / f'{method}.pt'), iterations,
                         warm))
            keys.append((family, method))
    second = dict(zip(keys, executor.map_jobs(aggregate_job, jobs)))
    for family, (config, directory, settings) in pending.items():
        data = TrajectoryDataset.load(directory / 'data.npz')
        grbal = first[(family, COLLECTOR, None)]
        tasks = held_out_tasks(family, budget)
        oracles = {task: first[(family, 'oracle', task)] for task in tasks}
        job_seconds = {COLLECTOR: grbal['seconds'],
                       **{m: second[(family, m)]['seconds'] for m in AGGREGATED},
                       **{f'oracle {t}': o['seconds'] for t, o in oracles.items()}}
        checkpoints = {key: str(directory / f'{key}.pt') for key in TRAINED}
        checkpoints['oracle'] = {task: str(directory / f'oracle_{index}.pt')
                                 for index, task in enumerate(tasks)}
        manifest = {
            'directory': str(directory), 'checkpoints': checkpoints, 'settings': settings,
            'data': {'transitions': data.steps, 'sim_hours': grbal['sim_hours'],
                     'trajectories': len(data), 'tasks': len(data.tasks),
                     'rounds': grbal['rounds']},
            'aggregate': {m: second[(family, m)] for m in AGGREGATED},
            'oracles': oracles, 'job_seconds': job_seconds,
            'train_seconds': float(sum(job_seconds.values()))}
        (directory / 'manifest.json').write_text(json.dumps(manifest, indent=1, default=float))
        manifests[family] = dict(manifest, cached=False)
    return manifests


def run_unit(unit):
    """Grid entry point for a mixed wave: unit = (function, job)."""
    function, job = unit
    return function(job)


def _map_mixed(executor, units):
    """Map different entry points in one wave (so that they share the cores)."""
    return executor.map_jobs(run_unit, units)


def reductions(budget_name):
    """Return what the budget reduces with respect to the paper and the official code."""
    budget = BUDGET_SETTINGS[budget_name]
    configs = {family: family_config(family, budget, 0) for family in FAMILIES}
    config = configs[FAMILIES[0]]
    training = config.training
    steps = config.collection.episode_steps
    total = budget.transitions(steps)[-1]
    horizons = ', '.join(f'{f} {c.controller.horizon}' for f, c in configs.items())
    orders = ', '.join(sorted({('first' if c.training.first_order else 'second')
                               + f'-order ({c.training.step_size_mode} psi)'
                               for c in configs.values()}))
    return [
        f'Algorithm 1: {budget.rounds} rounds ({budget.random_episodes} random episodes, '
        f'then {budget.episodes} with the controller per round) x {steps} steps = '
        f'{total:,} transitions per family (official: 50 x 5 x 1000 = 250,000); each '
        f'oracle as many on its test task, in {len(budget.oracle_episodes())} rounds '
        f'({" + ".join(map(str, budget.oracle_episodes()))} episodes)',
        f'model: {len(config.model.hidden_sizes)} x {config.model.hidden_sizes[0]} ReLU, '
        f'MAML {orders} (official: 3 x 512, second order)',
        f'training: up to {training.iterations} iterations per round (batch '
        f'{training.batch_size}, early stop), MB, ReBAL and the oracles up to '
        f'{budget.aggregate_iterations} on the aggregated data, continual up to '
        f'{budget.continual_iterations} (official: 100 epochs per iteration)',
        f'one training seed per family; the {budget.eval_episodes} seeds are evaluation '
        'seeds (initial states)',
        f'planner: {config.controller.planner}, {config.controller.num_samples} samples, '
        f'horizons {horizons} '
        '(official: random shooting, 500 samples, H = 10)',
        f'evaluation: {budget.eval_episodes} seeds x {config.evaluation.episode_steps} steps '
        'per method and test task (official episodes: 1000 steps)'] + (
        [f'only the first {budget.test_tasks} test task(s) of each family']
        if budget.test_tasks else [])
