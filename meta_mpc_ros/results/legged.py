"""
Section 3 of the results: the legged benchmarks on held-out tasks (the paper's Fig. 4).

For each family (half-cheetah with a disabled joint, on hills, on a pier; the ant with
a crippled leg), with the settings of config/<family>.yaml and the budget
(`legged_training`):

1. GrBAL with the paper's Algorithm 1 (`pipeline.iterate`) in small rounds: round 0
   acts randomly for a few episodes, each later round collects a few episodes with the
   previous round's GrBAL controller (plus exploration noise) on training tasks drawn
   from the family's distribution, then meta-trains on everything gathered so far,
   warm-started from the previous round (psi and Adam included);
2. MB, ReBAL and `continual` trained on the very same aggregated data;
3. an MB oracle per held-out test task: the same Algorithm 1 (same rounds, episodes
   and episode length, so the same data volume) with MB, every episode on that test
   task, and a final MB trained afresh on all of it as MB is;
4. closed-loop episodes (config/<family>.yaml's planner) on every test task for MB,
   MB+DE, GrBAL, ReBAL, continual and the oracle, and two random policies, all with the
   same evaluation seeds (initial states). Each episode is one job of the grid
   (`results.grid`: a Ray task).

The random policies (RANDOM_POLICIES): 'Random' draws a uniform action every step, the
usual reference of normalised scores (D4RL's random score); 'Random (held)' is the data
collection's, each uniform action held for config collection.random_hold_steps. Held
actions make the body lurch one way for up to 0.1-0.2 s: in the committed run its
returns spread 2-3 times wider on the half-cheetah and drift forward on the ant. Both
are reported, and the oracle is checked against each.

Scores: means over seeds with 95 % confidence intervals (Student's t). The oracle
must beat the random policy ('Random') by a clear margin (its 95 % interval entirely above the
random policy's) before anything is normalised by it: then R / R_oracle (the paper's:
oracle = 1, zero return = 0) and (R - R_random) / (R_oracle - R_random). Where it does
not, the normalised scores are None and the report shows raw returns. Models and data
are cached under runs/results/legged/<family>/<budget>_seed<seed>/.
"""

from dataclasses import asdict
import json
import pathlib
import time

from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.checkpoint import load_checkpoint
from meta_mpc_ros.core.roles import BASELINE_ADAPTER, DEFAULT_ADAPTER
from meta_mpc_ros.pipeline.agents import AdaptiveAgent, RandomPolicy
from meta_mpc_ros.pipeline.episodes import EpisodeRequest, run_episode
from meta_mpc_ros.pipeline.evaluate import summarise
from meta_mpc_ros.pipeline.plots import figure_axes, save_figure
from meta_mpc_ros.results.common import (check_budget, DOCS, figure_path, mean_ci, RUNS,
                                         Stopwatch, write_json)
from meta_mpc_ros.results.grid import Executor
from meta_mpc_ros.results.legged_training import (AGGREGATED, BUDGET_SETTINGS, FAMILIES,
                                                  family_config, held_out_tasks, ORACLE,
                                                  reductions, train_families)
from meta_mpc_ros.sim.registry import make_env, robot_specs
import numpy as np

# method label -> (checkpoint key: the training method, adapter), from the adapter
# registry (legged_training.TRAINED trains every training method it names).
METHOD_MODELS = {spec.label: (spec.training_method, name) for name, spec in ADAPTERS.items()}
METHODS = tuple(METHOD_MODELS)
# label -> how its uniform actions are held: 'every_step' or 'collection' (the config's
# collection.random_hold_steps).
RANDOM_POLICIES = {'Random': 'every_step', 'Random (held)': 'collection'}
REFERENCES = ('Oracle',) + tuple(RANDOM_POLICIES)
NORMALISATION = ('normalised = R / R_oracle (the paper, Fig. 4: oracle = 1, zero return = 0), '
                 'only where the oracle beats the random policy (a uniform action every '
                 "step) clearly (its 95 % interval above the random policy's); "
                 'normalised_vs_random = (R - R_random) / (R_oracle - R_random)')
PAPER = {
    'claim': 'the adaptive methods (GrBAL and ReBAL) reach higher returns on the held-out '
             'tasks than MB and MB+DE, and on some tasks even exceed the MB oracle trained on '
             'the test task (returns normalised so that the MB oracle scores 1).',
    'official_data_per_family': '50 iterations x 5 rollouts x 1000 steps (250,000 '
                                'transitions) of Algorithm 1',
    'official_model': '3 x 512 ReLU MLP, second-order MAML, M = K = 16',
}


def episode_seeds(seed, episodes):
    """Return the evaluation seeds (reset seeds: initial states), as `pipeline.evaluate`."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(episodes)]


def evaluate_episode(job):
    """
    Grid entry point: one closed-loop episode of one method on one task.

    :param job: (config, checkpoint path or None for a random policy, adapter (for a
        random policy: its RANDOM_POLICIES value), task, episode seed, steps).
    :return: dict return, steps, prediction_error_before/after, step_ms_median, seconds.
    """
    config, checkpoint_path, adapter, task, episode_seed, steps = job
    start = time.perf_counter()
    env = make_env(config.robot, condition=task, max_episode_steps=None)
    try:
        if checkpoint_path is None:
            hold = (1, 1) if adapter == 'every_step' else config.collection.random_hold_steps
            policy = RandomPolicy(env.action_spec, np.random.default_rng(episode_seed), hold)
        else:
            checkpoint = load_checkpoint(checkpoint_path, robot=config.robot)
            policy = AdaptiveAgent(checkpoint, adapter, config.controller,
                                   config.cost_terms(env), config.training.past_steps,
                                   config.adapter_settings(adapter))
        episode = run_episode(EpisodeRequest(
            env=env, policy=policy, seed=episode_seed, steps=steps, until_done=False,
            prediction_horizon=config.training.future_steps))
    finally:
        env.close()
    detail = summarise(episode)
    return {'return': -detail['cost'], 'steps': detail['steps'],
            'prediction_error_before': detail['prediction_error_before'],
            'prediction_error_after': detail['prediction_error_after'],
            'step_ms_median': detail['step_ms_median'],
            'seconds': time.perf_counter() - start}


def _row(episodes):
    """Return one method's scores on one task from its episodes."""
    returns = [e['return'] for e in episodes]
    mean, ci = mean_ci(returns)

    def average(key):
        values = [e[key] for e in episodes if e[key] is not None]
        return float(np.mean(values)) if values else None

    return {'returns': returns, 'return_mean': mean, 'return_ci': ci,
            'return_std': float(np.std(returns)), 'steps': episodes[0]['steps'],
            'prediction_error_before': average('prediction_error_before'),
            'prediction_error_after': average('prediction_error_after'),
            'step_ms_median': average('step_ms_median'),
            'seconds': float(sum(e['seconds'] for e in episodes))}


def oracle_check(rows):
    """
    Return whether the oracle beats the random policies by a clear margin on a task.

    Clear margin: the oracle's 95 % interval lies entirely above the random policy's.
    'beats_random' (which gates normalisation) is against 'Random'; 'beats_held_random'
    against 'Random (held)' where it was run.

    :param rows: method -> row, with 'Oracle' and 'Random' (and maybe 'Random (held)').
    :return: dict beats_random, oracle_low, random_high, gap (oracle - random means),
        beats_held_random (None where not run).
    """
    oracle = rows['Oracle']
    low = oracle['return_mean'] - (oracle['return_ci'] or 0.0)

    def upper(row):
        return row['return_mean'] + (row['return_ci'] or 0.0)

    held = rows.get('Random (held)')
    return {'beats_random': bool(low > upper(rows['Random'])), 'oracle_low': low,
            'random_high': upper(rows['Random']),
            'gap': oracle['return_mean'] - rows['Random']['return_mean'],
            'beats_held_random': None if held is None else bool(low > upper(held))}


def normalise(returns, oracle_mean, random_mean, valid=True):
    """
    Return the normalised scores of one method's per-seed returns.

    :param returns: list of returns.
    :param oracle_mean: the oracle's mean return (scores 1).
    :param random_mean: the random policy's mean return (0 of the second score).
    :param valid: whether the oracle beats random clearly; if not, every score is None.
    :return: dict normalised (mean R / R_oracle) and normalised_ci, normalised_vs_random
        ((R - R_random) / (R_oracle - R_random)) and its ci; None where the oracle is
        not valid or the denominator is not positive.
    """
    returns = np.asarray(returns, dtype=np.float64)
    scores = {'normalised': None, 'normalised_ci': None, 'normalised_vs_random': None,
              'normalised_vs_random_ci': None}
    if not valid:
        return scores
    if oracle_mean > 0:
        scores['normalised'], scores['normalised_ci'] = mean_ci(returns / oracle_mean)
    gap = oracle_mean - random_mean
    if gap > 0:
        scores['normalised_vs_random'], scores['normalised_vs_random_ci'] = mean_ci(
            (returns - random_mean) / gap)
    return scores


def evaluation_jobs(family, manifest, budget, seed):
    """Return (keys (task, method, episode index), jobs) of one family's evaluation."""
    config = family_config(family, budget, seed)
    checkpoints = manifest['checkpoints']
    seeds = episode_seeds(seed, budget.eval_episodes)
    keys, jobs = [], []
    for task in held_out_tasks(family, budget):
        for method in METHODS + REFERENCES:
            if method == 'Oracle':
                checkpoint, adapter = checkpoints['oracle'][task], BASELINE_ADAPTER
            elif method in RANDOM_POLICIES:
                checkpoint, adapter = None, RANDOM_POLICIES[method]
            else:
                key, adapter = METHOD_MODELS[method]
                checkpoint = checkpoints[key]
            for index, episode_seed in enumerate(seeds):
                keys.append((task, method, index))
                jobs.append((config, checkpoint, adapter, task, episode_seed,
                             config.evaluation.episode_steps))
    return keys, jobs


def score_family(keys, episodes):
    """Return task -> {'methods': method -> row (normalised), 'oracle_check': ...}."""
    grouped = {}
    for (task, method, _), episode in zip(keys, episodes):
        grouped.setdefault(task, {}).setdefault(method, []).append(episode)
    results = {}
    for task, by_method in grouped.items():
        rows = {method: _row(items) for method, items in by_method.items()}
        check = oracle_check(rows)
        for row in rows.values():
            row.update(normalise(row['returns'], rows['Oracle']['return_mean'],
                                 rows['Random']['return_mean'], check['beats_random']))
        results[task] = {'methods': rows, 'oracle_check': check}
    return results


def summarise_family(results):
    """
    Return method -> scores averaged over the test tasks, per seed, then over seeds.

    return_mean / return_ci: the per-seed mean over tasks; normalised (and _ci): the same
    for R / R_oracle, None unless every task's oracle beats random clearly.
    """
    tasks = list(results)
    valid = all(results[t]['oracle_check']['beats_random'] for t in tasks)
    summary = {'oracle_valid': valid}
    for method in METHODS + REFERENCES:
        per_seed = np.mean([results[t]['methods'][method]['returns'] for t in tasks], axis=0)
        mean, ci = mean_ci(per_seed)
        entry = {'return_mean': mean, 'return_ci': ci, 'normalised': None,
                 'normalised_ci': None}
        oracles = [results[t]['methods']['Oracle']['return_mean'] for t in tasks]
        if valid and all(o > 0 for o in oracles):
            ratios = np.mean([np.asarray(results[t]['methods'][method]['returns']) / o
                              for t, o in zip(tasks, oracles)], axis=0)
            entry['normalised'], entry['normalised_ci'] = mean_ci(ratios)
        summary[method] = entry
    return summary


def plot(families, path):
    """
    One panel per family: mean return over test tasks per method, 95 % intervals.

    Raw returns, not R / R_oracle: the ratio is undefined where the oracle does not
    beat random; the table gives it where it is defined. The dotted line is the
    random policy (uniform every step), the dash-dotted one the held random policy.
    """
    names = list(families)
    figure, axes = figure_axes(1, len(names), figsize=(3.4 * len(names), 4.2), squeeze=False)
    methods = METHODS + ('Oracle',)
    for axis, name in zip(axes[0], names):
        summary = families[name]['summary']
        means = [summary[m]['return_mean'] for m in methods]
        errors = [summary[m]['return_ci'] or 0.0 for m in methods]
        colours = [f'C{index}' for index in range(len(METHODS))] + ['grey']
        axis.bar(np.arange(len(methods)), means, yerr=errors, capsize=3, color=colours)
        axis.axhline(summary['Random']['return_mean'], color='k', ls=':', lw=1,
                     label='random policy')
        if 'Random (held)' in summary:
            axis.axhline(summary['Random (held)']['return_mean'], color='k', ls='-.', lw=1,
                         label='random, held actions')
        axis.axhline(0.0, color='grey', lw=0.5)
        axis.set_xticks(np.arange(len(methods)))
        axis.set_xticklabels(methods, rotation=45, fontsize=8)
        title = name.replace('_', ' ')
        if not summary['oracle_valid']:
            title += '\n(oracle does not beat random)'
        axis.set_title(title, fontsize=9)
        axis.legend(fontsize=7)
    axes[0][0].set_ylabel('return on held-out tasks (1000 steps)')
    figure.suptitle('Legged held-out tasks: mean return over seeds, 95 % CI; '
                    'Oracle = MB trained on the test task', fontsize=10)
    save_figure(figure, path, dpi=110)


def projection(families, cpus):
    """
    Return the grid's measured job times and what a cluster of more CPUs would take.

    Job times are measured inside each job (training phases from their logs, evaluation
    episodes by their own clock), so they leave out queueing; a controller episode of
    collection is priced as the family's median evaluation episode of GrBAL (the same
    planner and episode length). With C CPUs the wall time is at least
    max(CPU time / C, critical path); the critical path is the longest chain of
    dependent jobs: a family's Algorithm 1 (its rounds' training, one collection
    episode per round, the episodes of a round running side by side), then its slowest
    wave-2 job, then one evaluation episode.

    :param families: family -> report entry (data, oracle_data, job_seconds, results).
    :param cpus: the CPUs this run had.
    """
    train = evaluate = critical = 0.0
    for entry in families.values():
        episodes = [row['seconds'] / len(row['returns']) for task in entry['results'].values()
                    for row in task['methods'].values()]
        collector = ADAPTERS[DEFAULT_ADAPTER].label
        grbal_episode = float(np.median([
            task['methods'][collector]['seconds'] / len(task['methods'][collector]['returns'])
            for task in entry['results'].values()]))
        rounds = entry['data']['rounds']
        steps = entry['settings']['collection']['episode_steps']
        chain = sum(r['seconds'] for r in rounds) + (len(rounds) - 1) * grbal_episode
        # Controller episodes: everything after round 0's random ones.
        controller_episodes = (rounds[-1]['transitions'] - rounds[0]['transitions']) / steps
        oracles = entry['oracle_data'].values()
        oracle_episodes = sum((o['transitions'] - o['rounds'][0]['transitions']) / steps
                              for o in oracles)
        # An oracle's final MB trains as long as MB does (same iterations and volume).
        oracle_training = sum(r['seconds'] for o in oracles for r in o['rounds']) \
            + len(oracles) * entry['job_seconds'][ORACLE]
        wave_two = [entry['job_seconds'][m] for m in AGGREGATED]
        train += (sum(r['seconds'] for r in rounds) + oracle_training + sum(wave_two)
                  + (controller_episodes + oracle_episodes) * grbal_episode)
        evaluate += sum(row['seconds'] for task in entry['results'].values()
                        for row in task['methods'].values())
        critical = max(critical, chain + max(wave_two) + max(episodes))
    total = train + evaluate
    return {'cpus_used': cpus, 'train_cpu_seconds': train, 'evaluate_cpu_seconds': evaluate,
            'critical_path_seconds': critical,
            'projected_wall_seconds': {str(c): max(total / c, critical)
                                       for c in (2, 8, 32, 128)}}


def run(budget, seed, out=DOCS, runs=RUNS, families=FAMILIES, executor=None):
    """
    Train (or load), evaluate and report section 3; write legged.json and legged.png.

    :param budget: 'smoke' or 'full'.
    :param seed: seeds data collection, training, planning and evaluation.
    :param out: the docs directory (results/ and figures/ go under it).
    :param runs: the cache directory (models and data under legged/).
    :param families: the families to run (default: all four).
    :param executor: a results.grid.Executor (default: Ray, local on all cores).
    :return: the JSON dict.
    """
    check_budget(budget)
    executor = executor or Executor('ray')
    settings = BUDGET_SETTINGS[budget]
    report = {'experiment': 'legged', 'budget': budget, 'seed': seed,
              'budget_settings': asdict(settings), 'executor': executor.describe(),
              'reductions': reductions(budget), 'paper': PAPER,
              'planner': ', '.join(sorted({family_config(f, settings, seed).controller.planner
                                          for f in families})),
              'normalisation': NORMALISATION,
              'families': {}}
    with Stopwatch() as total:
        with Stopwatch() as training:
            manifests = train_families(families, budget, seed, executor, runs)
        keys, jobs, owners = [], [], []
        for family in families:
            family_keys, family_jobs = evaluation_jobs(family, manifests[family], settings,
                                                       seed)
            keys += family_keys
            jobs += family_jobs
            owners += [family] * len(family_jobs)
        with Stopwatch() as evaluation:
            episodes = executor.map_jobs(evaluate_episode, jobs)
    for family in families:
        mine = [(k, e) for k, e, o in zip(keys, episodes, owners) if o == family]
        results = score_family([k for k, _ in mine], [e for _, e in mine])
        manifest = manifests[family]
        config = family_config(family, settings, seed)
        report['families'][family] = {
            'config': f'config/{family}.yaml', 'test_tasks': list(results),
            'settings': manifest['settings']['config'],
            'data': manifest['data'], 'oracle_data': manifest['oracles'],
            'control_dt': robot_specs(family)[2],
            'evaluation': {'episodes': settings.eval_episodes,
                           'steps': config.evaluation.episode_steps, 'seed': seed},
            'results': results, 'summary': summarise_family(results),
            'train_seconds': manifest['train_seconds'],
            'job_seconds': manifest['job_seconds'], 'cached': manifest['cached'],
            'cache': manifest['directory']}
    entries = report['families'].values()
    report['transitions'] = sum(f['data']['transitions'] + sum(
        o['transitions'] for o in f['oracle_data'].values()) for f in entries)
    report['evaluation_transitions'] = int(sum(
        row['steps'] * len(row['returns']) for f in entries
        for task in f['results'].values() for row in task['methods'].values()))
    report['sim_hours'] = sum((f['data']['transitions'] + sum(
        o['transitions'] for o in f['oracle_data'].values())) * f['control_dt'] / 3600
        for f in entries)
    report['wall_seconds'] = total.seconds
    report['train_wall_seconds'] = training.seconds
    report['evaluate_wall_seconds'] = evaluation.seconds
    report['projection'] = projection(report['families'], report['executor']['cpus'])
    figure = figure_path('legged', out)
    plot(report['families'], figure)
    report['figure'] = str(figure)
    write_json('legged', report, out)
    return report


def replot(out=DOCS):
    """
    Redraw legged.png, recompute the projection and restate the normalisation.

    Reads and rewrites the legged.json under `out`; the scores are left as they are.
    """
    path = pathlib.Path(out) / 'results' / 'legged.json'
    report = json.loads(path.read_text())
    report['normalisation'] = NORMALISATION
    report['projection'] = projection(report['families'], report['executor']['cpus'])
    path.write_text(json.dumps(report, indent=1, default=float))
    plot(report['families'], figure_path('legged', out))
