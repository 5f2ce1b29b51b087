"""
`meta-mpc bench all` (`make results`): every result experiment, then docs/RESULTS.md.

Order matters: the legged section trains the half-cheetah models that the sample
efficiency and model-error sections reuse.
"""

import importlib
import time

SECTIONS = ('legged', 'sample_efficiency', 'model_error', 'closed_loop', 'speed')


def add_arguments(parser):
    """Add the options of `meta-mpc bench all`."""
    parser.add_argument('--budget', default='full', choices=('smoke', 'full'))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--only', default='',
                        help=f'comma-separated sections (default all: {",".join(SECTIONS)})')
    parser.add_argument('--out', default='docs', help='docs folder to write into')
    parser.add_argument('--report-only', action='store_true',
                        help='only redraw figures that support it and re-render RESULTS.md from '
                             'the JSON already there')


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
        for name in SECTIONS:
            if name not in chosen:
                continue
            start = time.perf_counter()
            print(f'== results: {name} ({args.budget})', flush=True)
            importlib.import_module(f'meta_mpc_ros.results.{name}').run(
                budget=args.budget, seed=args.seed, out=args.out)
            print(f'== results: {name} done in {(time.perf_counter() - start) / 60:.1f} min',
                  flush=True)
    report.render(args.out)
    print(f'wrote {args.out}/RESULTS.md')
    return 0
