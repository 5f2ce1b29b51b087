"""Shared helpers of the result experiments: budgets, JSON output, timing."""

import json
import pathlib
import platform
import time

import torch

BUDGETS = ('smoke', 'full')
DOCS = pathlib.Path('docs')
RUNS = pathlib.Path('runs') / 'results'


def check_budget(budget):
    """Raise ValueError for an unknown budget name."""
    if budget not in BUDGETS:
        raise ValueError(f'budget must be one of {BUDGETS}, got {budget!r}')


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
