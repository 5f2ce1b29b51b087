"""
`meta-mpc bench all` (`make results`): every result experiment, then docs/RESULTS.md.

Order matters: the legged section trains the half-cheetah models that the sample
efficiency and model-error sections reuse. Sections 3 and 4 run their grid on
`results.grid.Executor`: by default a local Ray on all cores; `--address` (or
RAY_ADDRESS) runs the same command on an existing Ray cluster. The wall time and the
budget of each section go to docs/results/make_results.json, which RESULTS.md quotes.
The README's headline results are then quoted from RESULTS.md (results/headline.py).
"""

import importlib
import inspect
import json
import pathlib
import time

from meta_mpc_ros.results import grid, headline
from meta_mpc_ros.results.common import BUDGETS

SECTIONS = ('legged', 'sample_efficiency', 'model_error', 'closed_loop', 'speed')


def add_arguments(parser):
    """Add the options of `meta-mpc bench all`."""
    parser.add_argument('--budget', default='full', choices=BUDGETS,
                        help="full: sized for this machine; paper: the paper's budget for "
                             'sections 3 and 4 (a Ray cluster, --address); smoke: a quick check')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--only', default='',
                        help=f'comma-separated sections (default all: {",".join(SECTIONS)})')
    parser.add_argument('--out', default='docs', help='docs folder to write into')
    parser.add_argument('--report-only', action='store_true',
                        help='only redraw figures that support it and re-render RESULTS.md from '
                             'the JSON already there')
    parser.add_argument('--robots', default='',
                        help='model_error and closed_loop: only these robots (comma-separated), '
                             "keeping the others' results already there (closed_loop writes "
                             'closed_loop_<robot>.json for a robot other than the millirobot)')
    grid.add_arguments(parser)


def record(out, name, budget, seconds, executor):
    """Add one section's wall time to <out>/results/make_results.json."""
    path = pathlib.Path(out) / 'results' / 'make_results.json'
    data = json.loads(path.read_text()) if path.is_file() else {'sections': {}}
    data['sections'][name] = {'budget': budget, 'wall_seconds': seconds,
                              'executor': executor}
    data['sections'] = {s: data['sections'][s] for s in SECTIONS if s in data['sections']}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


def _record_name(name, extra):
    """Return the key a section's wall time is recorded under (closed_loop per robot)."""
    if name != 'closed_loop' or 'only' not in extra:
        return name
    from meta_mpc_ros.results.closed_loop import result_name
    return '+'.join(result_name(robot) for robot in extra['only'])


def run(args):
    """Run the chosen sections and render the report; return 0."""
    from meta_mpc_ros.results import report
    chosen = [s for s in args.only.split(',') if s] or list(SECTIONS)
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        raise SystemExit(f'unknown sections {sorted(unknown)}; choose from {SECTIONS}')
    if args.report_only:
        for name in chosen:
            module = importlib.import_module(f'meta_mpc_ros.results.{name}')
            if hasattr(module, 'replot'):
                module.replot(args.out)
    else:
        executor = grid.from_arguments(args)
        begin = time.perf_counter()
        try:
            for name in SECTIONS:
                if name not in chosen:
                    continue
                start = time.perf_counter()
                print(f'== results: {name} ({args.budget})', flush=True)
                module = importlib.import_module(f'meta_mpc_ros.results.{name}')
                extra = {}
                parameters = inspect.signature(module.run).parameters
                if 'executor' in parameters:
                    extra['executor'] = executor
                if 'only' in parameters and args.robots:
                    extra['only'] = tuple(args.robots.split(','))
                module.run(budget=args.budget, seed=args.seed, out=args.out, **extra)
                seconds = time.perf_counter() - start
                where = (f'{executor.kind} on {executor.address or "this machine"}'
                         if 'executor' in extra else 'in-process')
                if 'only' in extra:
                    where += f'; only {", ".join(extra["only"])}'
                record(args.out, _record_name(name, extra), args.budget, seconds, where)
                print(f'== results: {name} done in {seconds / 60:.1f} min', flush=True)
        finally:
            executor.shutdown()
        print(f'== results: {",".join(chosen)} took {(time.perf_counter() - begin) / 60:.1f} '
              f'min of wall time, budget {args.budget}, executor {args.executor} on '
              f'{executor.address or "this machine"}', flush=True)
    report.render(args.out)
    print(f'wrote {args.out}/RESULTS.md')
    readme = pathlib.Path(args.out).resolve().parent / 'README.md'
    if headline.update_readme(readme, pathlib.Path(args.out) / 'RESULTS.md'):
        print(f'wrote the headline results of {readme}')
    return 0
