"""
The paper's Algorithm 1: alternate collection and (meta-)training.

Collection uses the current controller; training uses all data gathered so far.

Round 0 acts randomly (unless data is given); each later round acts with the adaptive
controller of the previous round's model (plus exploration noise), appends its
episodes to the aggregate dataset, and trains on it starting from that model.
"""

import pathlib
import shutil

from meta_mpc_ros.core.checkpoint import strip_training_state
from meta_mpc_ros.pipeline.collect import collect, merge
from meta_mpc_ros.pipeline.train import load_data, train
from meta_mpc_ros.shipped import default_adapter


def iterate(config, method, out, rounds, episodes, seed, initial_data=(), workers=0,
            iterations=None, save_data=None, random_episodes=None, work_dir=None, slim=False,
            mapper=None, progress=True):
    """
    Run `rounds` rounds of collect-then-train; write the last model to `out`.

    :param episodes: episodes per round collected with the controller.
    :param random_episodes: episodes of round 0 (random actions; default `episodes`).
    :param save_data: also write the aggregated dataset there (.npz), e.g. to train
        the other methods on the very same data.
    :param work_dir: where the rounds' checkpoints and logs go (default: next to out).
    :param slim: write `out` without the resume state (the rounds keep theirs).
    :param mapper: optional callable(function, jobs) that runs the collection episodes
        (`results.grid.Executor.map_jobs`: Ray tasks); default the process pool of `workers`.
    :param progress: show training progress bars.

    :return: the last round's training summary, with `rounds` listing every round's
        data volume and validation loss.
    """
    out = pathlib.Path(out)
    work_dir = pathlib.Path(work_dir or out.parent)
    work_dir.mkdir(parents=True, exist_ok=True)
    datasets = [load_data(initial_data, config)] if initial_data else []
    checkpoint, history = None, []
    for round_index in range(rounds):
        count = episodes or config.collection.episodes_per_iteration
        if checkpoint is None and not datasets:
            count = random_episodes or count
        data = collect(config, count, seed + round_index, checkpoint, default_adapter(method),
                       workers, mapper=mapper)
        datasets.append(data)
        merged = merge(datasets)
        round_out = work_dir / f'{out.stem}_round{round_index}{out.suffix}'
        summary = train(config, method, merged, round_out, warm_start=checkpoint,
                        iterations=iterations, log_dir=work_dir, progress=progress)
        history.append({'round': round_index, 'collected_with': data.metadata['policy'],
                        'transitions': merged.steps, 'sim_hours': summary['sim_hours'],
                        'best_validation_loss': summary['best_validation_loss'],
                        'initial_validation_loss': summary['initial_validation_loss'],
                        'seconds': summary['seconds']})
        print(f'round {round_index}: {merged.steps} transitions, validation '
              f'{summary["best_validation_loss"]:.4g}', flush=True)
        checkpoint = round_out
    if slim:
        strip_training_state(checkpoint, out)
    else:
        shutil.copyfile(checkpoint, out)
    if save_data:
        merge(datasets).save(save_data)
    summary['rounds'] = history
    return summary
