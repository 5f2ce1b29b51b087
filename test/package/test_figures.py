"""Every figure of the package is set up in one place: `pipeline.plots`."""

import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / 'meta_mpc_ros'


def test_matplotlib_is_set_up_only_in_pipeline_plots():
    # The headless backend, pyplot and figure saving live in pipeline/plots.py
    # (figure_axes, save_figure); a module that imports matplotlib itself repeats them.
    owners = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob('*.py')
                    if 'import matplotlib' in path.read_text())
    assert owners == ['pipeline/plots.py']
