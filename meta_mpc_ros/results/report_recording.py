"""Section 6 of docs/RESULTS.md: a real robot's recording (results.real_recording's JSON)."""

from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.core.roles import BASELINE_ADAPTER
from meta_mpc_ros.results.markdown import number, table
import numpy as np

METRICS = (('one_step_after', 'one-step nMSE'), ('position_m', 'position at H, m'),
           ('heading_rad', 'heading at H, rad'))


def _cells(rows, fraction):
    """Return method -> its rows (one per training seed) trained on `fraction`."""
    cells = {}
    for row in rows:
        if row['fraction'] == fraction:
            cells.setdefault(row['method'], []).append(row)
    return cells


def _spread(rows, metric):
    """Return (mean over seeds and windows, std over windows, seeds' means) of a metric."""
    means = [float(np.mean(row[metric])) for row in rows]
    spread = float(np.mean([np.std(row[metric]) for row in rows]))
    return float(np.mean(means)), spread, means


def _cell(rows, metric):
    """Return 'mean ± window std (seeds a, b)' for a table."""
    mean, spread, means = _spread(rows, metric)
    seeds = f' (seeds {", ".join(number(m) for m in means)})' if len(means) > 1 else ''
    return f'{number(mean)} ± {number(spread)}{seeds}'


def _comparison(label, value, baseline, what):
    """Return a sentence: by how much a method's error is below or above the baseline's."""
    change = (value - baseline) / baseline * 100.0 if baseline else 0.0
    side = 'below' if change < 0 else 'above'
    return f'{label} {abs(change):.0f} % {side} {what}'


def recording_section(data, results):
    """Render the section from results.real_recording's JSON."""
    source, recording, plan, model = (data['source'], data['recording'], data['plan'],
                                      data['model'])
    baseline = ADAPTERS[BASELINE_ADAPTER].label
    text = ('Every model above was trained in our own simulator. This one is not: '
            f"`{source['path']}` of {source['repository']} at commit `{source['commit']}`, "
            f"a {source['robot']}, teleoperated by someone else ({source['license']}). "
            "It is read as the `diff_drive` robot's bags are (`/odom` and `/cmd_vel` "
            'Twist, [the robot contract](robot_contract.md#diff_drive)): '
            f"{recording['transitions']} transitions at {number(1 / recording['control_dt'])}"
            f" Hz ({number(recording['seconds'])} s, {recording['dropped_messages']} "
            f"messages dropped). The first {number(100 * (1 - model['held_out']))} % in time "
            f"({recording['train_transitions']} transitions) train; the last "
            f"{recording['held_out_transitions']} are held out. Each method steps over the "
            f"held-out part window after window as it runs online (M = {model['past_steps']}"
            ' past transitions; MB+DE and Continual carry their parameters) and is scored on'
            f" the K = {model['future_steps']} one-step predictions after each window "
            "(normalised MSE, in units of the model's own delta std) and on the open-loop "
            f"rollout over the planner's H = {model['horizon']} executed actions (position "
            'and heading error after H steps, as sections 1 and 2 score them).\n\n'
            f"Command: `{data['command']}` (the bag from `git archive {source['commit']} "
            f"{source['path']}`). Budget `{data['budget']}`: "
            f"{' x '.join(map(str, plan['hidden']))} ReLU MLPs, "
            f"{plan['iterations']} iterations each (continual "
            f"{plan['iterations'] // 2}, warm-started from GrBAL), training seeds "
            f"{', '.join(map(str, plan['train_seeds']))}; "
            f"{data['wall_seconds'] / 60:.1f} min wall time on the 2-core CPU machine, one "
            'torch thread.\n\n')
    full = _cells(data['rows'], 1.0)
    methods = list(full)
    rows = [[method] + [_cell(full[method], metric) for metric, _ in METRICS]
            for method in methods]
    text += ('Held-out error, trained on all of the training part (mean over windows and '
             "seeds ± the std over windows; each seed's mean in brackets):\n\n")
    text += table(['method'] + [name for _, name in METRICS], rows) + '\n'
    diverged = {method: sum(sum(row.get('diverged', ())) for row in cells)
                for method, cells in full.items()}
    if any(diverged.values()):
        windows = sum(row['windows'] for row in full[methods[0]])
        text += ('Windows whose adapted model was not finite (scored with theta* instead, as '
                 'the graph falls back to it), of ' + str(windows) + ': '
                 + ', '.join(f'{method} {count:.0f}' for method, count in diverged.items()
                             if count) + '.\n\n')
    if baseline in full:
        lines = []
        for metric, name in METRICS:
            reference = _spread(full[baseline], metric)[0]
            parts = [_comparison(method, _spread(full[method], metric)[0], reference,
                                 baseline + "'s") for method in methods if method != baseline]
            lines.append(f'- {name}: ' + '; '.join(parts) + '.')
        text += '\n'.join(lines) + '\n\n'
        text += verdict(full, baseline, recording['train_transitions']
                        * recording['control_dt'])
    fractions = sorted({row['fraction'] for row in data['rows']})
    if len(fractions) > 1:
        text += ('\n**How much data.** The same models trained on the last 25, 50 and 100 % '
                 'of the training part (the part nearest the held-out one), scored on the '
                 'same held-out part: position error after H steps, m (one-step nMSE is '
                 'not comparable across them: each model normalises by its own data).\n\n')
        header = ['method'] + [f'{number(100 * f)} % ({_transitions(data, f)} transitions)'
                               for f in fractions]
        cells = [[method] + [_data_cell(_cells(data['rows'], f).get(method))
                             for f in fractions] for method in methods]
        text += table(header, cells) + '\n'
        text += (f'"diverges": the open-loop rollout left the recording by more than '
                 f'{DIVERGED_M:.0f} m within H steps (or was not finite) in some window: '
                 'with 8 s of data, the model '
                 'extrapolates to command and speed pairs it never saw. The part nearest '
                 'the held-out one can score better than the whole training part: the '
                 'floor and the driving are the same, and the recent windows are the most '
                 'alike.\n')
    text += ('\n**What the recording does not contain**, so what it cannot show:\n\n'
             + ''.join(f'- {item};\n' for item in data['not_in_recording'][:-1])
             + f'- {data["not_in_recording"][-1]}.\n')
    return text


DIVERGED_M = 1.0


def _data_cell(rows):
    """Return a position error for the data table, or 'diverges' when it is not usable."""
    if not rows:
        return '-'
    mean = _spread(rows, 'position_m')[0]
    return number(mean) if np.isfinite(mean) and mean < DIVERGED_M else 'diverges'


def _transitions(data, fraction):
    """Return the transitions the models of one fraction trained on."""
    return next(row['transitions'] for row in data['rows'] if row['fraction'] == fraction)


def verdict(full, baseline, train_seconds):
    """Return the paragraph on which adapted models beat the baseline at H, and why not."""
    reference = _spread(full[baseline], 'position_m')[0]
    scores = {method: _spread(rows, 'position_m')[0] for method, rows in full.items()
              if method != baseline}
    better = [m for m, v in scores.items() if v < 0.95 * reference]
    level = [m for m, v in scores.items() if abs(v - reference) <= 0.05 * reference]
    worse = [m for m, v in scores.items() if v > 1.05 * reference]
    text = (f'- On the real recording, over the horizon, {" and ".join(better) or "no method"} '
            f'{"beats" if len(better) == 1 else "beat"} {baseline} by more than 5 %')
    if level:
        text += f'; {" and ".join(level)} {"is" if len(level) == 1 else "are"} level with it'
    if worse:
        text += f'; {" and ".join(worse)} {"is" if len(worse) == 1 else "are"} worse'
    text += (' (position error after H steps, held-out part).\n\n'
             'The world never changes in this recording (one floor, one robot), so what '
             'adaptation gains here is fitting the error of a model trained on '
             f'{train_seconds:.0f} s of data, not tracking a change. Adapters that carry '
             'what they fitted from window to window (MB+DE, Continual) keep that gain; one '
             'meta-learned step from theta* (GrBAL) or a context (ReBAL) on 1 s of teleop, '
             'mostly one command held, moves the model toward that window only, and '
             'meta-training on this recording had few distinct windows to learn a step size '
             'or a context from.\n')
    return text
