"""
Train a checkpoint (MB, GrBAL, ReBAL, continual) from datasets or rosbag2 recordings.

Data paths may be dataset files (.npz, from `meta-mpc collect`) or rosbag2
directories (sqlite3 or mcap, from our recorder or `ros2 bag record`), which are
turned into trajectories with the state estimator the live graph uses.
"""

import csv
import dataclasses
from dataclasses import dataclass
import pathlib
import time

from meta_mpc_ros.core.checkpoint import load_checkpoint, save_checkpoint
from meta_mpc_ros.core.dataset import TrajectoryDataset
from meta_mpc_ros.core.meta_training import (fit_normalizer, learns_step_size, METHODS,
                                             Trainer, TrainingState)
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.pipeline.collect import merge
from meta_mpc_ros.sim.registry import robot_specs
import torch

# A rosbag2 storage file given alone (the reader takes it like its directory).
BAG_SUFFIXES = ('.mcap', '.db3')


def load_data(paths, robot_config, label_topic='/meta_mpc/terrain', segments=None,
              topics=None, motor_joints=None):
    """
    Read and merge training data.

    :param paths: dataset .npz files and/or rosbag2 directories (or one .mcap/.db3).
    :param segments: optional list of (start_s, end_s, label) to split bags by, instead
        of the recorded terrain label.
    :param topics: role -> topic name in the bags (data.bag_dataset.ROBOT_TOPICS roles),
        for bags whose topics have other names.
    :param motor_joints: the robot's measured joints' names in the bags' joint states;
        None: its description's (robots.ROBOTS).
    :return: TrajectoryDataset
    :raises data.bag_dataset.BagTopicError: when a bag lacks a needed topic or joint.
    """
    datasets = []
    for path in map(pathlib.Path, paths):
        if path.is_dir() or path.suffix in BAG_SUFFIXES:
            from meta_mpc_ros.data.bag_dataset import dataset_from_bags
            control_dt = robot_specs(robot_config.robot)[2]
            extra = {'motor_joints': tuple(motor_joints)} if motor_joints else {}
            datasets.append(dataset_from_bags([path], control_dt,
                                              robot_config.training.past_steps,
                                              label_topic=label_topic, segments=segments,
                                              robot=robot_config.robot, topics=topics,
                                              **extra))
        else:
            datasets.append(TrajectoryDataset.load(path))
    if not datasets:
        raise ValueError('no training data given')
    robots = {d.metadata.get('robot', robot_config.robot) for d in datasets}
    if robots != {robot_config.robot}:
        raise ValueError(f'data is for {sorted(robots)}, the config for {robot_config.robot}')
    return merge(datasets)


def build_model(robot_config, method, state_spec, action_spec, seed):
    """Return a freshly initialised DynamicsModel for a method."""
    settings = robot_config.model
    config = ModelConfig(
        state_dim=state_spec.dim, action_dim=action_spec.dim,
        input_indices=state_spec.model_input_indices,
        hidden_sizes=tuple(settings.hidden_sizes), activation=settings.activation,
        context_dim=settings.context_dim if METHODS[method].needs_context else 0,
        encoder=settings.encoder)
    return DynamicsModel(config).reset_parameters(torch.Generator().manual_seed(seed))


def _state_to_dict(state):
    """Return a TrainingState as a dict that torch.load(weights_only=True) accepts."""
    return {'iteration': state.iteration, 'best_validation': state.best_validation,
            'evaluations_without_improvement': state.evaluations_without_improvement,
            'history': state.history, 'optimizer': state.optimizer,
            'generator': state.generator, 'step_size': state.best_step_size}


def check_method(name):
    """Raise ValueError unless `name` is a key of core.objectives.METHODS."""
    if name not in METHODS:
        raise ValueError(f'unknown training method {name!r}; choose one of {tuple(METHODS)}')


@dataclass(frozen=True, kw_only=True)
class TrainRequest:
    """
    A checkpoint for `train` to train and save.

    :param robot_config: pipeline.config.RobotConfig (model and training settings).
    :param method: a training method, a key of core.objectives.METHODS.
    :param dataset: TrajectoryDataset.
    :param out: checkpoint path to write.
    :param resume: a checkpoint written by `train` to continue (same data).
    :param warm_start: a checkpoint whose theta* starts training (Algorithm 1 rounds).
    :param iterations: override the config's iteration count (None or 0: the config's).
    :param log_dir: where training.csv goes (None: next to `out`).
    :param progress: show a progress bar.
    :param keep_training_state: store the optimiser state so `resume` can continue.
    :param device: where meta-training runs ('cpu' or 'cuda').
    """

    robot_config: object
    method: str
    dataset: object
    out: object
    resume: object = None
    warm_start: object = None
    iterations: int = None
    log_dir: object = None
    progress: bool = True
    keep_training_state: bool = True
    device: str = 'cpu'

    def __post_init__(self):
        check_method(self.method)
        if self.iterations is not None and self.iterations < 0:
            raise ValueError(f'iterations must be None or >= 0, not {self.iterations}')


def train(request):
    """
    Train and save a checkpoint.

    :param request: TrainRequest.
    :return: dict summary (best validation loss, the one before training, iterations,
        seconds, data volume).
    """
    robot_config, method, dataset = request.robot_config, request.method, request.dataset
    iterations = request.iterations
    config = dataclasses.replace(robot_config.training, method=method,
                                 **({'iterations': iterations} if iterations else {}))
    state_spec, action_spec, control_dt = robot_specs(robot_config.robot)
    # A window of this method: its past (continual: U - 1 more) and its future.
    span = (config.past_steps + METHODS[method].extra_past_steps(config)
            + config.future_steps)
    train_set, validation_set = dataset.split(config.validation_fraction, config.seed, span)
    trainer = _make_trainer(robot_config, config, (state_spec, action_spec), train_set,
                            validation_set, request.resume, request.warm_start,
                            request.device)
    out = pathlib.Path(request.out)
    log_path = pathlib.Path(request.log_dir or out.parent) / f'{out.stem}_training.csv'
    start = time.perf_counter()
    final = _run_logged(trainer, log_path, request.progress)
    summary = {
        'method': method, 'robot': robot_config.robot, 'iterations': final.iteration,
        'best_validation_loss': final.best_validation,
        'initial_validation_loss': (final.history[0]['validation_loss']
                                    if final.history else None),
        'seconds': time.perf_counter() - start,
        'transitions': dataset.steps, 'sim_hours': dataset.steps * control_dt / 3600.0,
        'trajectories': len(dataset), 'tasks': len(dataset.tasks),
        'config': config.to_dict(), 'model': robot_config.model.__dict__,
        'data': dataset.metadata, 'log': str(log_path)}
    save_checkpoint(out, trainer.model, method, robot_config.robot, state_spec, action_spec,
                    trainer.detached_step_size() if learns_step_size(method) else None,
                    summary,
                    _state_to_dict(final) if request.keep_training_state else None)
    return summary


def _make_trainer(robot_config, config, specs, train_set, validation_set, resume, warm_start,
                  device):
    """
    Return the Trainer: resumed from a checkpoint, warm-started from one, or fresh.

    :param specs: (state_spec, action_spec) of the robot.
    """
    method = config.method
    state = None
    if resume is not None:
        checkpoint = load_checkpoint(resume, robot=robot_config.robot)
        if checkpoint.training_state is None or checkpoint.method != method:
            raise ValueError(f'{resume}: no {method} training state to resume from')
        model = checkpoint.model
        saved = checkpoint.training_state
        state = TrainingState(
            iteration=saved['iteration'], best_validation=saved['best_validation'],
            best_params=checkpoint.params, best_step_size=saved.get('step_size'),
            evaluations_without_improvement=saved['evaluations_without_improvement'],
            history=list(saved['history']), optimizer=saved['optimizer'],
            generator=saved['generator'])
    elif warm_start is not None:
        earlier = load_checkpoint(warm_start, robot=robot_config.robot)
        model = earlier.model
        fit_normalizer(model, train_set)
    else:
        model = build_model(robot_config, method, *specs, config.seed)
        fit_normalizer(model, train_set)
    trainer = Trainer(model, train_set, validation_set, config, device, state=state)
    if warm_start is not None and resume is None and learns_step_size(method):
        _continue_step_size(trainer, earlier)
    return trainer


def _run_logged(trainer, log_path, progress):
    """Train, appending each evaluation to the CSV log; return the final TrainingState."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    config = trainer.config
    bar = (_progress_bar(config.iterations, trainer.state.iteration, config.method)
           if progress else None)
    with open(log_path, 'a', newline='') as stream:
        writer = csv.DictWriter(stream, ['iteration', 'train_loss', 'validation_loss', 'best',
                                         'seconds'])
        if stream.tell() == 0:
            writer.writeheader()

        def on_evaluation(record):
            writer.writerow(record)
            stream.flush()
            if bar is not None:
                bar.set_postfix(validation=f'{record["validation_loss"]:.4g}')

        final = trainer.train(on_evaluation=on_evaluation,
                              on_step=(lambda i, loss: bar.update(1)) if bar else None)
    if bar is not None:
        bar.close()
    return final


def _continue_step_size(trainer, earlier):
    """Carry psi and Adam's state over from the round before (Algorithm 1)."""
    saved = earlier.training_state or {}
    if not learns_step_size(earlier.method) or saved.get('step_size') is None:
        print(f'warm start: {earlier.path} holds no training state with psi; psi starts '
              'afresh', flush=True)
        return
    trainer.warm_start(saved['step_size'], saved.get('optimizer'))


def _progress_bar(total, initial, method):
    """Return a tqdm progress bar over iterations."""
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, desc=f'train {method}', unit='it',
                dynamic_ncols=True, mininterval=1.0)
