"""
The paper's Algorithm 1: alternate collection and (meta-)training.

Collection uses the current controller; training uses all data gathered so far.

Round 0 acts randomly (unless data is given); each later round acts with the adaptive
controller of the previous round's model (plus exploration noise), appends its
episodes to the aggregate dataset, and trains on it starting from that model.
"""

from dataclasses import dataclass
import pathlib
import shutil

from meta_mpc_ros.core.checkpoint import strip_training_state
from meta_mpc_ros.pipeline.collect import collect, CollectRequest, merge
from meta_mpc_ros.pipeline.train import check_method, load_data, train, TrainRequest
from meta_mpc_ros.shipped import default_adapter


@dataclass(frozen=True, kw_only=True)
class IterateRequest:
    """
    Rounds of Algorithm 1 for `iterate` to run.

    :param robot_config: pipeline.config.RobotConfig.
    :param method: a training method, a key of core.objectives.METHODS; collection
        rounds after the first act with its default adapter.
    :param out: where the last round's model is written.
    :param rounds: rounds of collect-then-train.
    :param episodes: episodes per round collected with the controller (0: the config's
        episodes_per_iteration).
    :param seed: round r collects with seed `seed + r`.
    :param initial_data: dataset files and/or bags added to round 0's data; with them,
        round 0 collects `episodes`, not `random_episodes`.
    :param workers: collection processes (0: one per CPU core).
    :param iterations: training iterations per round (None or 0: the config's).
    :param save_data: also write the aggregated dataset there (.npz), e.g. to train
        the other methods on the very same data.
    :param random_episodes: episodes of round 0 (random actions; None or 0: `episodes`).
    :param work_dir: where the rounds' checkpoints and logs go (None: next to out).
    :param slim: write `out` without the resume state (the rounds keep theirs).
    :param mapper: optional callable(function, jobs) that runs the collection episodes
        (`results.grid.Executor.map_jobs`: Ray tasks); None: the process pool of `workers`.
    :param progress: show training progress bars.
    :param condition: collect every episode under this condition spec (e.g. an oracle on
        one held-out task); None draws each from the training distribution.
    :param schedule: episodes of each round, overriding `rounds`, `episodes` and
        `random_episodes` (e.g. (3, 7, 7): 3 random, then two rounds of 7).
    """

    robot_config: object
    method: str
    out: object
    rounds: int
    episodes: int = 0
    seed: int = 0
    initial_data: tuple = ()
    workers: int = 0
    iterations: int = None
    save_data: object = None
    random_episodes: int = None
    work_dir: object = None
    slim: bool = False
    mapper: object = None
    progress: bool = True
    condition: str = None
    schedule: tuple = ()

    def __post_init__(self):
        check_method(self.method)
        object.__setattr__(self, 'schedule', tuple(int(n) for n in self.schedule))
        if self.schedule:
            if min(self.schedule) < 1:
                raise ValueError(f'every round of a schedule needs episodes, not {self.schedule}')
            object.__setattr__(self, 'rounds', len(self.schedule))
        if self.rounds < 1 or self.episodes < 0 or self.workers < 0:
            raise ValueError(f'rounds must be at least 1, episodes and workers >= 0, not '
                             f'{self.rounds}, {self.episodes} and {self.workers}')
        object.__setattr__(self, 'initial_data', tuple(self.initial_data))


def iterate(request):
    """
    Run the rounds of collect-then-train; write the last model to `request.out`.

    :param request: IterateRequest.
    :return: the last round's training summary, with `rounds` listing every round's
        data volume and validation loss.
    """
    config, method = request.robot_config, request.method
    out = pathlib.Path(request.out)
    work_dir = pathlib.Path(request.work_dir or out.parent)
    work_dir.mkdir(parents=True, exist_ok=True)
    datasets = [load_data(request.initial_data, config)] if request.initial_data else []
    checkpoint, history = None, []
    for round_index in range(request.rounds):
        count = request.episodes or config.collection.episodes_per_iteration
        if checkpoint is None and not datasets:
            count = request.random_episodes or count
        if request.schedule:
            count = request.schedule[round_index]
        data = collect(CollectRequest(
            robot_config=config, episodes=count, seed=request.seed + round_index,
            checkpoint_path=checkpoint, adapter=default_adapter(method),
            workers=request.workers, mapper=request.mapper, condition=request.condition))
        datasets.append(data)
        merged = merge(datasets)
        round_out = work_dir / f'{out.stem}_round{round_index}{out.suffix}'
        summary = train(TrainRequest(
            robot_config=config, method=method, dataset=merged, out=round_out,
            warm_start=checkpoint, iterations=request.iterations, log_dir=work_dir,
            progress=request.progress))
        history.append({'round': round_index, 'collected_with': data.metadata['policy'],
                        'transitions': merged.steps, 'sim_hours': summary['sim_hours'],
                        'best_validation_loss': summary['best_validation_loss'],
                        'initial_validation_loss': summary['initial_validation_loss'],
                        'seconds': summary['seconds']})
        print(f'round {round_index}: {merged.steps} transitions, validation '
              f'{summary["best_validation_loss"]:.4g}', flush=True)
        checkpoint = round_out
    if request.slim:
        strip_training_state(checkpoint, out)
    else:
        shutil.copyfile(checkpoint, out)
    if request.save_data:
        merge(datasets).save(request.save_data)
    summary['rounds'] = history
    return summary
