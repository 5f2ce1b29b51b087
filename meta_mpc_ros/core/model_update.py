"""
The adapted-model update that the adaptive-dynamics node publishes for the controller.

An update is safetensors bytes (core.tensor_codec) whose metadata carry:

    version          increasing integer, one per adaptation
    stamp_ns         time of the newest state in the window (ns, on the ROS clock)
    adapter          mb | de | grbal | rebal
    checkpoint       hash of the checkpoint holding theta*
    params           'meta' (use theta*: MB, ReBAL), 'adapted' (every parameter whole)
                     or 'delta' (against theta*, core.parameter_delta)
    rank, delta_error   for 'delta': the largest rank of its factors and the measured
                     relative error of a truncated change (0: exact)
    loss_before, loss_after, adapt_ms   window diagnostics

Tensors: the adapted parameters (params='adapted'), or for params='delta' each weight
matrix either as factors `<name>:u` (out, r) and `<name>:v` (r, in), meaning
theta*[name] + u @ v, or whole under its own name, and every other parameter whole;
and/or `context` (ReBAL). A GrBAL update of the paper's 3 x 512 model is then about
205 KB in float32 instead of 2.2 MB. The receiver checks the checkpoint hash, every
name, shape and dtype against its own model, and that every value is finite, so a
stale, foreign or malformed update is refused with a one-line ValueError, never applied.
"""

from dataclasses import dataclass

from meta_mpc_ros.core.adapters import Adapted
from meta_mpc_ros.core.tensor_codec import decode, encode
import torch


@dataclass
class UpdateInfo:
    """Metadata of a received model update."""

    version: int
    stamp_ns: int
    adapter: str
    checkpoint: str
    loss_before: float
    loss_after: float
    adapt_ms: float
    rank: int = 0
    delta_error: float = 0.0


def pack_update(adapted, meta_params_used, info, dtype=torch.float32, delta=None):
    """
    Serialise an adapted predictor.

    :param adapted: core.adapters.Adapted.
    :param meta_params_used: True when adapted.params is theta* itself (nothing to send).
    :param info: UpdateInfo (its rank and delta_error are taken from `delta`).
    :param dtype: dtype for the parameters on the wire (float32 or bfloat16).
    :param delta: core.parameter_delta.ParameterDelta of adapted.params against theta*,
        or None to send every parameter whole.
    :return: bytes
    """
    tensors, kind, rank, error = {}, 'meta', 0, 0.0
    if not meta_params_used and delta is not None:
        kind, rank, error = 'delta', delta.rank, delta.error
        tensors = {name: value.detach().to(dtype) for name, value in delta.full.items()}
        for name, (u, v) in delta.factors.items():
            tensors[f'{name}:u'], tensors[f'{name}:v'] = u.detach().to(dtype), v.detach().to(
                dtype)
    elif not meta_params_used:
        kind = 'adapted'
        tensors = {name: value.detach().to(dtype) for name, value in adapted.params.items()}
    if adapted.context is not None:
        tensors['context'] = adapted.context.detach().float()
    metadata = {'version': info.version, 'stamp_ns': info.stamp_ns, 'adapter': info.adapter,
                'checkpoint': info.checkpoint, 'params': kind, 'rank': rank,
                'delta_error': repr(error), 'loss_before': repr(info.loss_before),
                'loss_after': repr(info.loss_after), 'adapt_ms': repr(info.adapt_ms)}
    return encode(tensors, metadata)


def unpack_update(data, model, meta_params, checkpoint_hash, device='cpu'):
    """
    Parse and verify an update against the receiver's model.

    :param data: bytes from pack_update.
    :param model: DynamicsModel (names, shapes and context size to check against).
    :param meta_params: theta* (used when the update says params='meta').
    :param checkpoint_hash: the receiver's checkpoint hash.
    :return: (Adapted, UpdateInfo)
    :raises ValueError: on a malformed, foreign or non-finite update.
    """
    tensors, metadata = decode(data, device)
    try:
        info = UpdateInfo(version=int(metadata['version']),
                          stamp_ns=int(metadata['stamp_ns']), adapter=metadata['adapter'],
                          checkpoint=metadata['checkpoint'],
                          loss_before=float(metadata['loss_before']),
                          loss_after=float(metadata['loss_after']),
                          adapt_ms=float(metadata['adapt_ms']),
                          rank=int(metadata.get('rank', 0)),
                          delta_error=float(metadata.get('delta_error', 0.0)))
        kind = metadata['params']
    except (KeyError, ValueError) as error:
        raise ValueError(f'model update metadata is malformed ({error})') from None
    if info.checkpoint != checkpoint_hash:
        raise ValueError(f'model update is for checkpoint {info.checkpoint[:12]}, '
                         f'not {checkpoint_hash[:12]}')
    context = tensors.pop('context', None)
    if kind == 'meta':
        if tensors:
            raise ValueError('model update says params=meta but carries parameters')
        params = meta_params
    elif kind == 'adapted':
        expected = {name: value.shape for name, value in meta_params.items()}
        received = {name: value.shape for name, value in tensors.items()}
        if expected != received:
            raise ValueError('model update parameters do not match the model '
                             f'(missing {sorted(set(expected) - set(received))}, '
                             f'unexpected {sorted(set(received) - set(expected))}, '
                             'or different shapes)')
        params = {name: value.float() for name, value in tensors.items()}
    elif kind == 'delta':
        params = _apply_delta(tensors, meta_params)
    else:
        raise ValueError(f'model update has unknown params kind {kind!r}')
    if model.config.context_dim:
        if context is None or context.shape != (model.config.context_dim,):
            raise ValueError('ReBAL model update needs a context of size '
                             f'{model.config.context_dim}')
    elif context is not None:
        raise ValueError('model update carries a context but the model takes none')
    for name, value in list(params.items()) + [('context', context)]:
        if value is not None and not bool(torch.isfinite(value).all()):
            raise ValueError(f'model update {name} contains NaN or inf')
    return Adapted(params, context), info


def _apply_delta(tensors, meta_params):
    """
    Return theta' from a 'delta' update's tensors (see the module docstring).

    :raises ValueError: unless every parameter of theta* comes exactly once, whole with
        its shape or as factors (out, r) and (r, in) of one rank, in a float dtype.
    """
    params, unexpected = {}, set(tensors)
    for name, meta in meta_params.items():
        u, v = tensors.get(f'{name}:u'), tensors.get(f'{name}:v')
        whole = tensors.get(name)
        if whole is not None and u is None and v is None:
            _check_float(name, whole)
            if whole.shape != meta.shape:
                raise ValueError(f'model update {name} has shape {tuple(whole.shape)}, '
                                 f'not {tuple(meta.shape)}')
            params[name] = whole.float()
            unexpected.discard(name)
        elif whole is None and u is not None and v is not None and meta.ndim == 2:
            _check_float(name, u)
            _check_float(name, v)
            if u.ndim != 2 or v.ndim != 2 or u.shape[0] != meta.shape[0] or \
                    v.shape[1] != meta.shape[1] or u.shape[1] != v.shape[0]:
                raise ValueError(f'model update factors of {name} ({tuple(u.shape)} and '
                                 f'{tuple(v.shape)}) do not multiply to {tuple(meta.shape)}')
            params[name] = meta + u.float() @ v.float()
            unexpected -= {f'{name}:u', f'{name}:v'}
        else:
            raise ValueError(f'model update must carry {name} once, whole or as the two '
                             'factors :u and :v of a weight matrix')
    if unexpected:
        raise ValueError(f'model update has unexpected tensors {sorted(unexpected)}')
    return params


def _check_float(name, value):
    """Raise ValueError unless a received tensor has a floating-point dtype."""
    if not value.dtype.is_floating_point:
        raise ValueError(f'model update {name} has dtype {value.dtype}, not a float')
