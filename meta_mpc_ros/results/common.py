"""Shared helpers of the result experiments: budgets, JSON output, timing."""

import json
import pathlib
import platform
import time

import torch

# smoke: a minute-long check; full: what fits on this 2-core machine; paper: the paper's
# budget for the legged grid (sections 3 and 4), meant for a Ray cluster (`--address`).
# Sections without a budget of their own for 'paper' run their 'full' one (`plan_of`).
BUDGETS = ('smoke', 'full', 'paper')
DOCS = pathlib.Path('docs')
RUNS = pathlib.Path('runs') / 'results'


def check_budget(budget):
    """Raise ValueError for an unknown budget name."""
    if budget not in BUDGETS:
        raise ValueError(f'budget must be one of {BUDGETS}, got {budget!r}')


def plan_of(plans, budget):
    """Return a section's plan for a budget: its own, else its 'full' one (for 'paper')."""
    check_budget(budget)
    return plans.get(budget, plans['full'])


def machine():
    """Return a short description of where the numbers were measured."""
    return {'cpu': platform.processor() or platform.machine(),
            'torch_threads': torch.get_num_threads(), 'torch': torch.__version__,
            'cuda': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def write_json(name, data, out=DOCS):
    """Write docs/results/<name>.json (with the machine description); return the path."""
    path = pathlib.Path(out) / 'results' / f'{name}.json'
    path.parent.mkdir(parents=True, exist_ok=True)
    data = dict(data, machine=machine())
    path.write_text(json.dumps(data, indent=1, default=float))
    return path


def figure_path(name, out=DOCS):
    """Return docs/figures/<name>.png (folder created)."""
    path = pathlib.Path(out) / 'figures' / f'{name}.png'
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


class Stopwatch:
    """Wall time of a block: `with Stopwatch() as watch: ...; watch.seconds`."""

    def __enter__(self):
        """Start timing."""
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc_info):
        """Stop timing."""
        self.seconds = time.perf_counter() - self.start


# Student's t quantile t(0.975, n - 1) for n = 2..30 samples (95 % two-sided); 1.96 beyond.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045)


def mean_ci(values):
    """
    Return (mean, half-width of its 95 % confidence interval) over seeds.

    Student's t interval: t(0.975, n - 1) * s / sqrt(n), with s the sample standard
    deviation (ddof = 1); the half-width is None for fewer than 2 values.

    :param values: per-seed numbers.
    """
    values = [float(v) for v in values]
    count = len(values)
    mean = sum(values) / count
    if count < 2:
        return mean, None
    variance = sum((v - mean) ** 2 for v in values) / (count - 1)
    quantile = _T975[count - 2] if count - 2 < len(_T975) else 1.96
    return mean, quantile * (variance / count) ** 0.5
