"""RESULTS.md sections 3 and 4, from results/legged.json and sample_efficiency.json."""

from meta_mpc_ros.results.markdown import number, table
from meta_mpc_ros.results.report_paired import legged_paired_section

NOT_METHODS = ('Oracle', 'oracle_valid')


def randoms_of(summary_or_methods):
    """Return the random policies a result holds (legged.RANDOM_POLICIES' labels)."""
    return tuple(m for m in summary_or_methods if m.startswith('Random'))


def methods_of(data):
    """Return the methods legged.json scored (the adapter registry's labels), then Oracle."""
    summary = next(iter(data['families'].values()))['summary']
    randoms = randoms_of(summary)
    return tuple(m for m in summary if m not in NOT_METHODS + randoms) + ('Oracle',)


def ci(mean, half_width, digits=3):
    """Return 'mean ± half-width' (the half-width of a 95 % interval), or '-'."""
    if mean is None:
        return '-'

    def plain(value, significant):
        # Whole numbers from 100 up: '1120', not '1.12e+03'.
        return f'{value:.0f}' if abs(value) >= 100 else number(value, significant)

    if half_width is None:
        return plain(mean, digits)
    return f'{plain(mean, digits)} ± {plain(half_width, 2)}'


def legged_section(data, _):
    """Return section 3: returns and normalised returns on held-out tasks."""
    columns = methods_of(data)
    first = next(iter(data['families'].values()))
    episodes, steps = first['evaluation']['episodes'], first['evaluation']['steps']
    planner = data.get('planner', 'mppi').replace('_', ' ')
    text = (f'Closed-loop {planner} on every evaluated held-out task of each family; returns are '
            "the environment's (forward velocity minus control cost, summed over the "
            f'episode). {episodes} evaluation seeds (initial states) x {steps} steps per '
            'method and task; every cell is the mean over seeds with its 95 % confidence '
            "interval (Student's t). Normalisation: "
            f'{data["normalisation"]}.\n\n'
            f'The paper (qualitative; its figure has no table): {data["paper"]["claim"]} '
            f'Its data volume: {data["paper"]["official_data_per_family"]}; its model: '
            f'{data["paper"]["official_model"]}.\n\n'
            '**What this budget reduced against the paper:**\n\n'
            + ''.join(f'- {line}\n' for line in data['reductions']) + '\n')
    text += oracle_table(data)
    text += summary_table(data)
    text += legged_verdict(data)
    text += legged_paired_section(data)
    text += '\n![legged](figures/legged.png)\n'
    text += scaling(data)
    for family, result in data['families'].items():
        rows = []
        for task, entry in result['results'].items():
            methods = entry['methods']
            rows.append([task] + [ci(methods[m]['return_mean'], methods[m]['return_ci'])
                                  for m in columns + randoms_of(methods)])
        normalised_rows = [[task] + [ci(entry['methods'][m]['normalised'],
                                        entry['methods'][m]['normalised_ci'])
                                     for m in columns]
                           for task, entry in result['results'].items()
                           if entry['oracle_check']['beats_random']]
        seconds = result['job_seconds']
        jobs = ', '.join(f'{name} {value / 60:.1f}' for name, value in seconds.items())
        text += (f'\n### {family}\n\n_training seed {data["seed"]}; '
                 f'{result["data"]["transitions"]:,} training transitions '
                 f'({number(result["data"]["sim_hours"], 2)} sim-hours) for GrBAL, MB, '
                 'ReBAL and continual, and as many per oracle on its test task; wall time '
                 f'of the training jobs in min (collection and waiting for a CPU included): '
                 f'{jobs}; evaluation {family_evaluation_seconds(result) / 60:.1f} CPU-min '
                 '(episodes timed by their own clock)._\n\n'
                 'Raw returns:\n\n'
                 + table(['test task'] + list(columns)
                         + [m.lower() for m in randoms_of(result['summary'])], rows))
        if normalised_rows:
            text += ('\nR / R_oracle (where the oracle beats random):\n\n'
                     + table(['test task'] + list(columns), normalised_rows))
    return text


def scaling(data):
    """Return the grid's measured cost and the projected wall time on more CPUs."""
    projection, executor = data['projection'], data['executor']
    cpu = projection['train_cpu_seconds'] + projection['evaluate_cpu_seconds']
    rows = [[cpus, f'{seconds / 60:.0f}']
            for cpus, seconds in projection['projected_wall_seconds'].items()]
    where = 'a local Ray' if executor.get('address') == 'local' else \
        f'{executor["kind"]} at {executor.get("address", "this machine")}'
    return (f'\n**Cost and scale-out.** This run: {where} on {executor["cpus"]} CPUs, '
            f'{data["wall_seconds"] / 60:.0f} min wall time (training '
            f'{data["train_wall_seconds"] / 60:.0f} min, evaluation '
            f'{data["evaluate_wall_seconds"] / 60:.0f} min) for '
            f'{projection["train_cpu_seconds"] / 60:.0f} CPU-min of training jobs and '
            f'{projection["evaluate_cpu_seconds"] / 60:.0f} CPU-min of evaluation episodes '
            f'({data["transitions"]:,} training transitions, '
            f'{data["evaluation_transitions"]:,} evaluated). The same grid on a Ray cluster '
            '(`--address`), projected from these measured job times as max(CPU time / '
            f'CPUs, critical path = {projection["critical_path_seconds"] / 60:.0f} min, the '
            "longest chain of dependent jobs: a family's Algorithm 1, its slowest wave-2 "
            'job, one episode), assuming cluster CPUs as fast as these:\n\n'
            + table(['CPUs', 'projected wall time (min)'], rows)
            + f'\n({cpu / 60:.0f} CPU-min in all at this budget.)\n')


def family_evaluation_seconds(result):
    """Return the CPU seconds of one family's evaluation episodes."""
    return sum(row['seconds'] for entry in result['results'].values()
               for row in entry['methods'].values())


def oracle_table(data):
    """Return the oracle-against-random check, per family and test task."""
    rows, held_rows = [], []
    for family, result in data['families'].items():
        for task, entry in result['results'].items():
            check, methods = entry['oracle_check'], entry['methods']
            row = [family, task, ci(methods['Oracle']['return_mean'],
                                    methods['Oracle']['return_ci'])]
            for name, key in (('Random', 'beats_random'),
                              ('Random (held)', 'beats_held_random')):
                if name in methods:
                    row += [ci(methods[name]['return_mean'], methods[name]['return_ci']),
                            'yes' if check.get(key) else '**no**']
            rows.append(row)
            held_rows.append(check.get('beats_held_random'))
    valid = sum(row[4] == 'yes' for row in rows)
    has_held = any(held is not None for held in held_rows)
    header = ['family', 'test task', 'oracle return', 'random return', 'oracle beats random']
    held_note = ''
    if has_held:
        header += ['held random return', 'oracle beats held random']
        held_note = ('; "held random" is the data collection\'s random policy, each uniform '
                     'action held for several steps: the random data the models start from')
    text = ('**Oracle against random** (the oracle is MB trained on the test task with as '
            'much data as the methods; it counts only if its 95 % interval lies above the '
            "random policy's; the random policy draws a uniform action every step, the usual "
            f'reference of normalised scores{held_note}):\n\n')
    text += (table(header, rows)
             + f'\nThe oracle beats random clearly on {valid} of {len(rows)} test tasks'
             + ('.' if valid == len(rows) else '; where it does not, the tables below show '
                'raw returns only, and nothing is normalised by it.'))
    if has_held:
        beaten = sum(bool(held) for held in held_rows)
        text += (f' Against the held random policy it is clearly better on {beaten} of '
                 f'{len(rows)}.')
    return text + '\n\n'


def summary_table(data):
    """Return the per-family summary: R / R_oracle where defined, else raw returns."""
    columns = methods_of(data)
    randoms = randoms_of(first_family(data)['summary'])
    rows = []
    for family, result in data['families'].items():
        summary = result['summary']
        if summary['oracle_valid'] and summary['MB']['normalised'] is not None:
            rows.append([family, 'R / R_oracle'] + [
                ci(summary[m]['normalised'], summary[m]['normalised_ci']) for m in columns]
                + [ci(summary[m]['normalised'], summary[m]['normalised_ci'])
                   for m in randoms])
        else:
            rows.append([family, 'raw return (oracle not valid)'] + [
                ci(summary[m]['return_mean'], summary[m]['return_ci'])
                for m in columns + randoms])
    return ('Per family, mean over its evaluated test tasks (per seed, then over seeds), '
            'normalised where the oracle is valid:\n\n'
            + table(['family', 'score'] + list(columns) + [m.lower() for m in randoms],
                    rows))


def ordering(summary):
    """
    Return (holds, clear, best adaptive, best baseline) for the paper's ordering.

    Holds: the better of GrBAL and ReBAL has a higher mean return than the better of MB
    and MB+DE; clear: its 95 % interval lies above the baseline's.
    """
    adaptive = max(('GrBAL', 'ReBAL'), key=lambda m: summary[m]['return_mean'])
    baseline = max(('MB', 'MB+DE'), key=lambda m: summary[m]['return_mean'])
    a, b = summary[adaptive], summary[baseline]
    holds = a['return_mean'] > b['return_mean']
    clear = holds and (a['return_mean'] - (a['return_ci'] or 0.0)
                       > b['return_mean'] + (b['return_ci'] or 0.0))
    return holds, clear, adaptive, baseline


def legged_verdict(data):
    """Return where the paper's ordering holds (target: 3 of 4 families), with numbers."""
    lines, holds = [], 0
    for family, result in data['families'].items():
        summary = result['summary']
        held, clear, adaptive, baseline = ordering(summary)
        holds += held
        continual = summary['Continual']['return_mean']
        lines.append(f'- {family}: best adaptive {adaptive} '
                     f'{ci(summary[adaptive]["return_mean"], summary[adaptive]["return_ci"])} '
                     f'against best baseline {baseline} '
                     f'{ci(summary[baseline]["return_mean"], summary[baseline]["return_ci"])}: '
                     + ('**holds**' + (' (intervals apart)' if clear else
                                       ' (intervals overlap)') if held else '**does not hold**')
                     + f'; continual {number(continual)}.')
    families = len(data['families'])
    met = holds >= min(3, families)
    valid = all(r['summary']['oracle_valid'] for r in data['families'].values())
    text = (f"\nThe paper's ordering (GrBAL or ReBAL above MB and MB+DE, by mean return) "
            f'holds on {holds} of {families} families (target: at least 3 of 4: '
            + ('**met**' if met else '**missed**') + '):\n\n' + '\n'.join(lines) + '\n')
    if holds < families or not valid:
        text += likely_reasons(data)
    return text


def likely_reasons(data):
    """
    Return why a target was missed, from the numbers.

    Per test task whose oracle does not beat random: whether the oracle is above random
    by its mean (the intervals overlap) or not even that, with both per-seed ranges. Per
    family where the ordering does not hold: the methods' prediction errors beside their
    returns (model_error_line).
    """
    lines = []
    for family, result in data['families'].items():
        if not ordering(result['summary'])[0]:
            lines.append(model_error_line(family, result))
        transitions = result['data']['transitions']
        for task, entry in result['results'].items():
            if entry['oracle_check']['beats_random']:
                continue
            oracle, random = entry['methods']['Oracle'], entry['methods']['Random']
            spread = (f"per seed the oracle's returns range from "
                      f"{number(min(oracle['returns']))} to {number(max(oracle['returns']))}"
                      f", the random policy's from {number(min(random['returns']))} to "
                      f"{number(max(random['returns']))}")
            if oracle['return_mean'] > random['return_mean']:
                lines.append(f'- {family}, {task}: the oracle is above random by its mean '
                             f"({number(oracle['return_mean'])} against "
                             f"{number(random['return_mean'])}), but the intervals overlap: "
                             f'{spread}.')
            else:
                lines.append(f'- {family}, {task}: the oracle does not beat random actions '
                             f"even by its mean ({number(oracle['return_mean'])} against "
                             f"{number(random['return_mean'])}; {spread}): MB-MPC with "
                             f'{transitions:,} transitions of this very task does not yet '
                             'control it better than chance.')
    text = ('\n**Likely reasons** (one training seed; no setting tuned to these numbers):\n\n'
            + ''.join(line + '\n' for line in lines))
    text += ("- This budget is far below the paper's (the reductions above): 250,000 "
             'transitions per family and a 3 x 512 model there (`--budget paper`, '
             'docs/scaling.md).\n')
    return text


def model_error_line(family, result):
    """
    Return one family's one-step prediction errors (after adapting) beside the returns.

    The error is the normalised one-step MSE over the K transitions after each step,
    every one predicted from the true state before it (pipeline.episodes), not a
    K-step open-loop rollout.

    Each method's error is measured on its own episodes (a mean over steps, which a few
    diverging predictions can dominate), so the states differ; what it shows is whether
    a better model bought a higher return at this budget.
    """
    summary = result['summary']
    _, _, adaptive, baseline = ordering(summary)

    def error(method):
        values = [entry['methods'][method]['prediction_error_after']
                  for entry in result['results'].values()]
        values = [v for v in values if v is not None]
        return sum(values) / len(values) if values else None

    errors = {m: error(m) for m in (adaptive, baseline, 'Oracle')}
    returns = {m: summary[m]['return_mean'] for m in errors}
    parts = ', '.join(f'{m} {number(errors[m])} (return {number(returns[m])})'
                      for m in errors)
    text = (f'- {family}: one-step prediction error after adapting (normalised MSE over '
            f"the K transitions after each step), on each method's own episodes: {parts}.")
    if None in errors.values():
        return text
    ratio = errors[adaptive] / errors[baseline]
    if ratio < 1.0:
        text += (f" {adaptive}'s error is {number(ratio, 2)}x {baseline}'s, yet it returns "
                 'less: at this budget the return does not follow the model error.')
    else:
        text += (f' {adaptive}, adapted, still predicts worse than {baseline}: the '
                 'adaptation does not make up for a weaker prior here.')
    lowest = min(errors, key=errors.get)
    if lowest == 'Oracle' and returns['Oracle'] > max(returns[adaptive], returns[baseline]):
        text += ' The oracle, trained on the test task, predicts best and returns most.'
    return text


def first_family(data):
    """Return the first family's entry of legged.json."""
    return next(iter(data['families'].values()))


def sample_efficiency_section(data, _):
    """Return section 4: return against environment steps, steps to reach R."""
    model_free = [name for name in ('PPO', 'TRPO') if name in data['curves']]
    settings = data['budget_settings']['model_based']
    text = (f'On `{data["family"]}`, held-out task `{data["test_task"]}`: Algorithm 1 in '
            f'small rounds from the start ({settings["random_episodes"]} random episodes, '
            f'then {settings["episodes"]} controller episodes of '
            f'{settings["episode_steps"]} steps per round, {settings["rounds"]} rounds), '
            "the return of every round of GrBAL (section 3's run) and of MB (its own "
            'Algorithm 1 with the same rounds), beside stable-baselines3 PPO and '
            'sb3-contrib TRPO trained on the training tasks, against the environment steps '
            f'each consumed. {data["evaluation"]["episodes"]} evaluation seeds x '
            f'{data["evaluation"]["steps"]} steps per point; mean with 95 % interval.\n\n'
            f"The paper's claim: {data['paper']['claim']}\n\n")
    rows = []
    for method, points in data['curves'].items():
        for point in points:
            rows.append([method, f'{point["steps"]:,}',
                         ci(point['return_mean'], point.get('return_ci'))])
    text += ('<details><summary>Every point of the learning curves</summary>\n\n'
             + table(['method', 'environment steps', 'return on the test task'], rows)
             + '\n</details>\n\n')
    threshold_rows = []
    for item in data['thresholds']:
        steps = item.get('steps') or {}
        cells = [f'{int(100 * item["fraction"])} %', number(item['target'])]
        cells += [_steps(steps.get(m)) for m in ('GrBAL', 'MB') + tuple(model_free)]
        for name in model_free:
            ratio = (item.get('ratios') or {}).get(name)
            lower = (item.get('lower_bound') or {}).get(name)
            cells.append(('>= ' if lower else '') + number(ratio) if ratio is not None
                         else item.get('note', '-'))
        threshold_rows.append(cells)
    text += ('Environment steps to reach return R, for R = fractions of the best '
             'model-based return (the best mean return of any GrBAL or MB round), and the '
             "ratio of a model-free method's steps to the fewest model-based steps (the "
             "paper's claim is about 1000; '>=' where the model-free method did not reach R "
             'within its budget):\n\n'
             + table(['R (of best)', 'return', 'GrBAL steps', 'MB steps']
                     + [f'{name} steps' for name in model_free]
                     + [f'{name} / model-based' for name in model_free], threshold_rows))
    text += claim_verdict(data, model_free)
    timings = data['timings']
    text += (f'\n_training seed {data["seed"]}, {data["transitions"]:,} environment steps in '
             f'all ({number(data["sim_hours"], 2)} sim-hours): '
             + ', '.join(f'{name} {volume["transitions"]:,}'
                         for name, volume in data['data'].items())
             + f"; {data['wall_seconds'] / 60:.1f} min wall time (MB's Algorithm 1 "
             f'{timings["mb_train"] / 60:.1f} min beside PPO and TRPO, then the curves '
             f'{timings["evaluate"] / 60:.1f} min)._\n\n'
             '![sample efficiency](figures/sample_efficiency.png)\n')
    return text


def _steps(value):
    """Return a step count with thousands separators, or 'not reached'."""
    return 'not reached' if value is None else f'{value:,}'


def claim_verdict(data, model_free):
    """Return a sentence comparing the measured ratios with the paper's ~1000."""
    full = next((row for row in data['thresholds'] if row['fraction'] == 1.0), None)
    if full is None or full.get('target') is None:
        return '\nNo positive model-based return, so no ratio is measured.\n'
    parts = []
    for name in model_free:
        ratio, lower = full['ratios'][name], full['lower_bound'][name]
        parts.append(f'{name} {"at least " if lower else ""}{number(ratio)}x')
    best = max(full['ratios'][name] for name in model_free)
    verdict = ('of the order the paper reports' if best >= 300 else
               "**not reproduced**: far below the paper's ~1000x")
    finals = ', '.join(f'{name} {number(data["curves"][name][-1]["return_mean"])} after '
                       f'{data["curves"][name][-1]["steps"]:,} steps' for name in model_free)
    text = (f'\nTo reach the best model-based return ({number(full["target"])}), the '
            f'model-free methods needed {", ".join(parts)} the model-based steps '
            f'({full["model_based"]:,}): {verdict}. Their final returns: {finals}.\n')
    best_free = max(data['curves'][name][-1]['return_mean'] for name in model_free)
    if full['target'] < 0.1 * best_free:
        text += ('\nThe model-based methods reach a return of only '
                 f'{number(full["target"])} at this budget (section 3, "Likely reasons"), '
                 'under a tenth of what the model-free methods end with, so every R here is '
                 "low and easy for them too; the paper's ~1000x was measured at comparable "
                 'returns, which this budget does not reach.\n')
    return text
