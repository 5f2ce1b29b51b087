"""
Figures, headless: the one matplotlib set-up of the package, and plots of episodes.

Every figure of the package (results/*, the demo, `meta-mpc evaluate --plot`) is made
with `figure_axes` and written with `save_figure`, so the backend is chosen in one
place (Agg: no display needed) and matplotlib is imported only when a figure is drawn.
"""

import pathlib

import numpy as np


def pyplot():
    """Return matplotlib.pyplot with the headless Agg backend selected."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def figure_axes(rows=1, columns=1, figsize=None, squeeze=True, **kwargs):
    """
    Return (figure, axes) of a new headless figure (plt.subplots' arguments).

    :param rows: rows of panels.
    :param columns: columns of panels.
    :param figsize: (width, height) in inches.
    :param squeeze: as plt.subplots (False: axes is always a 2-D array).
    """
    return pyplot().subplots(rows, columns, figsize=figsize, squeeze=squeeze, **kwargs)


def save_figure(figure, path, dpi=100, tight=True):
    """
    Lay out, write (folders created) and close a figure.

    :param figure: a matplotlib Figure.
    :param path: image file to write.
    :param dpi: resolution.
    :param tight: apply tight_layout first.
    """
    if tight:
        figure.tight_layout()
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    pyplot().close(figure)


def plot_episodes(runs, report, path, reference=None):
    """
    Plot the first episode's path, its per-step cost, and prediction errors over time.

    :param runs: list of Episode.
    :param report: the evaluation report (for titles).
    :param path: image file to write.
    :param reference: optional (P, 2) reference path points.
    """
    run = runs[0]
    states = np.array(run.states)
    figure, axes = figure_axes(1, 3, figsize=(15, 4.5))
    title = f'{report["adapter"]} | {report["condition"]}'
    if report.get('switch'):
        title += f' -> {report["switch"][1]} at step {report["switch"][0]}'
    figure.suptitle(title)
    if reference is not None:
        axes[0].plot(reference[:, 0], reference[:, 1], 'k--', lw=1, label='reference')
    switch = run.switch_step
    if switch:
        axes[0].plot(states[:switch + 1, 0], states[:switch + 1, 1], 'C0', label='before switch')
        axes[0].plot(states[switch:, 0], states[switch:, 1], 'C3', label='after switch')
    else:
        axes[0].plot(states[:, 0], states[:, 1], 'C0', label='robot')
    axes[0].set_aspect('equal')
    axes[0].set_xlabel('x (m)')
    axes[0].set_ylabel('y (m)')
    axes[0].legend(loc='best', fontsize=8)
    steps = np.arange(run.steps)
    if run.infos and 'distance' in run.infos[0]:
        axes[1].plot(steps, [info['distance'] for info in run.infos], 'C0')
        axes[1].set_ylabel('distance to path (m)')
    else:
        axes[1].plot(steps, -np.array(run.costs), 'C0')
        axes[1].set_ylabel('reward per step')
    axes[1].set_xlabel('control step')
    if run.error_before:
        start, before = zip(*run.error_before)
        _, after = zip(*run.error_after)
        axes[2].semilogy(start, before, 'C7', label='theta* (before adapting)')
        axes[2].semilogy(start, after, 'C2', label='adapted')
        axes[2].legend(loc='best', fontsize=8)
    axes[2].set_xlabel('control step')
    axes[2].set_ylabel(f'{report["prediction_horizon"]}-step prediction MSE (normalised)')
    for axis in axes[1:]:
        if switch:
            axis.axvline(switch, color='C3', ls=':', lw=1)
        axis.grid(alpha=0.3)
    save_figure(figure, path, dpi=100)
