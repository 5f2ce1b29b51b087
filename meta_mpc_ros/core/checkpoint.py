"""
Versioned, hashed checkpoints that load with `torch.load(weights_only=True)`.

A checkpoint is a dict of tensors and plain values only (no pickled objects):

    format, version          'meta_mpc_ros.checkpoint', CHECKPOINT_VERSION
    method                   a key of core.objectives.METHODS (how theta* was trained)
    robot                    the robot's name (a key of meta_mpc_ros.robots.ROBOTS)
    model_config             ModelConfig.to_dict()
    state_spec, action_spec  names, units (and bounds) of the vectors
    params                   theta*, name -> tensor
    normalizer               input/delta mean and std tensors
    step_size                psi of a method that learns it: a tensor or name -> tensor (else None)
    training                 config, data volume, wall time, seed, history
    training_state           optional: optimiser and generator state to resume
    hash                     sha256 of everything above but training_state

Loading checks the format, version, hash and, if asked, the state and action sizes,
and raises CheckpointError naming the file and the problem.
"""

from dataclasses import dataclass
import hashlib
import json
import pathlib
import pickle

from meta_mpc_ros.core.model import DynamicsModel, ModelConfig, Normalizer
from meta_mpc_ros.core.spaces import ActionSpec, StateSpec
import torch

CHECKPOINT_FORMAT = 'meta_mpc_ros.checkpoint'
CHECKPOINT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, corrupt, of an unknown version, or mismatched."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model holding theta* and everything saved beside it."""

    model: DynamicsModel
    method: str
    robot: str
    state_spec: StateSpec
    action_spec: ActionSpec
    step_size: object
    training: dict
    digest: str
    path: str = ''
    training_state: dict = None

    @property
    def params(self):
        """Return theta* as a name -> tensor dict (detached)."""
        return self.model.meta_parameters()

    @property
    def past_steps(self):
        """Return M, the window the model was trained to adapt on, or None if unrecorded."""
        steps = (self.training or {}).get('config', {}).get('past_steps')
        return int(steps) if steps else None


def _digest(content):
    """Return the sha256 of a checkpoint's content (tensors by bytes, the rest as JSON)."""
    hasher = hashlib.sha256()

    def feed(value, key):
        hasher.update(key.encode())
        if isinstance(value, torch.Tensor):
            tensor = value.detach().cpu().contiguous()
            hasher.update(str(tensor.dtype).encode() + str(tuple(tensor.shape)).encode())
            hasher.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b'')
        elif isinstance(value, dict):
            for name in sorted(value):
                feed(value[name], f'{key}/{name}')
        else:
            hasher.update(json.dumps(value, sort_keys=True, default=str).encode())

    for key in sorted(content):
        if key not in ('hash', 'training_state'):
            feed(content[key], key)
    return hasher.hexdigest()


def save_checkpoint(path, model, method, robot, state_spec, action_spec, step_size=None,
                    training=None, training_state=None):
    """
    Write a checkpoint file and return its hash.

    :param model: DynamicsModel holding theta* and the normaliser.
    :param method: the training method, a key of core.objectives.METHODS.
    :param robot: the robot's name (a key of meta_mpc_ros.robots.ROBOTS).
    :param state_spec: StateSpec of the state vector.
    :param action_spec: ActionSpec of the action vector.
    :param step_size: the meta-learned psi of a method that learns it (GrBAL, continual),
        or None.
    :param training: JSON-serialisable metadata (config, data volume, wall time...).
    :param training_state: optional dict of tensors/plain values to resume training.
    """
    if state_spec.dim != model.config.state_dim or action_spec.dim != model.config.action_dim:
        raise ValueError('state/action specs do not match the model sizes')
    normalizer = model.normalizer
    if isinstance(step_size, dict):
        step_size = {name: value.detach().cpu() for name, value in step_size.items()}
    elif step_size is not None:
        step_size = step_size.detach().cpu()
    content = {
        'format': CHECKPOINT_FORMAT,
        'version': CHECKPOINT_VERSION,
        'method': method,
        'robot': robot,
        'model_config': model.config.to_dict(),
        'state_spec': state_spec.to_dict(),
        'action_spec': action_spec.to_dict(),
        'params': {name: value.detach().cpu() for name, value in model.named_parameters()},
        'normalizer': {name: getattr(normalizer, name).cpu() for name in
                       ('input_mean', 'input_std', 'delta_mean', 'delta_std')},
        'step_size': step_size,
        'training': json.loads(json.dumps(training or {}, default=str)),
    }
    content['hash'] = _digest(content)
    if training_state is not None:
        content['training_state'] = training_state
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + '.tmp')
    torch.save(content, temporary)
    temporary.replace(path)
    return content['hash']


def load_checkpoint(path, device='cpu', state_dim=None, action_dim=None, robot=None):
    """
    Load and verify a checkpoint.

    :param path: the .pt file.
    :param device: where to put the model.
    :param state_dim: if given, the state size the caller expects.
    :param action_dim: if given, the action size the caller expects.
    :param robot: if given, the robot the caller runs.
    :return: Checkpoint
    :raises CheckpointError: unreadable, corrupt, unknown version or mismatched file.
    """
    path = pathlib.Path(path)

    def fail(problem):
        raise CheckpointError(f'{path}: {problem}')

    if not path.is_file():
        fail('no such checkpoint file')
    try:
        content = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's message advises weights_only=False (running the file's code): keep
        # only its reason.
        reason = str(error).split('WeightsUnpickler error:')[-1].strip()
        reason = reason.splitlines()[0].split('. ')[0] if reason else 'unreadable'
        fail('not a readable checkpoint: refused by the safe loader, which reads only '
             f'tensors and plain data ({reason})')
    except Exception as error:  # torch raises many types for corrupt files
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ''
        fail(f'not a readable checkpoint ({type(error).__name__}: {first_line})')
    if not isinstance(content, dict) or content.get('format') != CHECKPOINT_FORMAT:
        fail('not a meta_mpc_ros checkpoint')
    if content.get('version') != CHECKPOINT_VERSION:
        fail(f'checkpoint version {content.get("version")!r} is not supported '
             f'(this package reads version {CHECKPOINT_VERSION})')
    try:
        if _digest(content) != content['hash']:
            fail('hash mismatch: the file is corrupt or was edited')
        method, stored_robot, step_size, training = (content[key] for key in (
            'method', 'robot', 'step_size', 'training'))
        config = ModelConfig.from_dict(content['model_config'])
        state_spec = StateSpec.from_dict(content['state_spec'])
        action_spec = ActionSpec.from_dict(content['action_spec'])
        normalizer = Normalizer(**content['normalizer'])
        model = DynamicsModel(config, normalizer)
        model.load_state_dict({**content['params'], **{
            name: value for name, value in model.state_dict().items()
            if name not in content['params']}}, strict=True)
        model.set_normalizer(normalizer)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        fail(f'malformed checkpoint ({type(error).__name__}: {error})')
    # Another robot's checkpoint is named as such, before its sizes differ too.
    if robot is not None and robot != stored_robot:
        fail(f'trained for robot {stored_robot!r}, not {robot!r}')
    if state_dim is not None and state_dim != config.state_dim:
        fail(f'state size {config.state_dim} does not match the expected {state_dim}')
    if action_dim is not None and action_dim != config.action_dim:
        fail(f'action size {config.action_dim} does not match the expected {action_dim}')
    tensors = step_size.values() if isinstance(step_size, dict) else [step_size]
    if step_size is not None and not all(isinstance(t, torch.Tensor) for t in tensors):
        fail('malformed checkpoint (step_size must be a tensor or a dict of tensors)')
    if isinstance(step_size, dict):
        step_size = {name: value.to(device) for name, value in step_size.items()}
    elif step_size is not None:
        step_size = step_size.to(device)
    return Checkpoint(model.to(device).eval(), method, stored_robot,
                      state_spec, action_spec, step_size, training,
                      content['hash'], str(path), content.get('training_state'))


def strip_training_state(source, target):
    """
    Copy a checkpoint without its resume state (optimiser moments): a slim file to ship.

    The hash does not cover the training state, so the copy verifies as the original.
    """
    content = torch.load(source, map_location='cpu', weights_only=True)
    content.pop('training_state', None)
    target = pathlib.Path(target)
    temporary = target.with_suffix(target.suffix + '.tmp')
    torch.save(content, temporary)
    temporary.replace(target)
    load_checkpoint(target)
