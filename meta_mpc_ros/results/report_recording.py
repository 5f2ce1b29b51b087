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
        best = min(methods, key=lambda m: _spread(full[m], 'position_m')[0])
        text += verdict(best, baseline, recording['train_transitions']
                        * recording['control_dt'])
    fractions = sorted({row['fraction'] for row in data['rows']})
    if len(fractions) > 1:
        text += ('\n**How much data.** The same models trained on the last 25, 50 and 100 % '
                 'of the training part (the part nearest the held-out one), scored on the '
                 'same held-out part: position error after H steps, m (one-step nMSE is '
                 'not comparable across them: each model normalises by its own data).\n\n')
        header = ['method'] + [f'{number(100 * f)} % ({_transitions(data, f)} transitions)'
                               for f in fractions]
        cells = [[method] + [number(_spread(_cells(data['rows'], f)[method], 'position_m')[0])
                             for f in fractions] for method in methods]
        text += table(header, cells) + '\n'
    text += ('\n**What the recording does not contain**, so what it cannot show:\n\n'
             + ''.join(f'- {item};\n' for item in data['not_in_recording'][:-1])
             + f'- {data["not_in_recording"][-1]}.\n')
    return text


def _transitions(data, fraction):
    """Return the transitions the models of one fraction trained on."""
    return next(row['transitions'] for row in data['rows'] if row['fraction'] == fraction)


def verdict(best, baseline, train_seconds):
    """Return the paragraph on whether the adapted models beat the baseline, and why not."""
    if best != baseline:
        return (f'{best} has the lowest position error at the horizon. The world never '
                'changes in this recording, so what the adaptive methods gain here is '
                f'fitting the error of a model trained on {train_seconds:.0f} s of data, not '
                'tracking a change.\n')
    return (f'No adapted model beats {baseline} at the horizon on this recording. Likely '
            'reasons: the world never changes (one floor, one robot), so there is nothing '
            'to adapt to beyond the model error itself, and one gradient step on 1 s of '
            'teleop (mostly one command held) moves the model toward that window, not '
            f'toward the next one; the models trained on {train_seconds:.0f} s of data, and '
            "the adaptive ones' meta-training had few distinct windows to learn a step size "
            'from.\n')
