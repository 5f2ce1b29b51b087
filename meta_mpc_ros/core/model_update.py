"""
The adapted-model update that the adaptive-dynamics node publishes for the controller.

An update is safetensors bytes (core.tensor_codec) whose metadata carry:

    version          increasing integer, one per adaptation
    stamp_ns         time of the newest state in the window (ns, on the ROS clock)
    adapter          mb | de | grbal | rebal
    checkpoint       hash of the checkpoint holding theta*
    params           'meta' (use theta*: MB, ReBAL) or 'adapted' (tensors included)
    loss_before, loss_after, adapt_ms   window diagnostics

Tensors: the adapted parameters (GrBAL, DE) and/or `context` (ReBAL). The receiver
checks the checkpoint hash, the names and shapes against its own model, and that
every value is finite, so a stale or foreign update is refused, never applied.
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


def pack_update(adapted, meta_params_used, info, dtype=torch.float32):
    """
    Serialise an adapted predictor.

    :param adapted: core.adapters.Adapted.
    :param meta_params_used: True when adapted.params is theta* itself (nothing to send).
    :param info: UpdateInfo.
    :param dtype: dtype for the parameters on the wire (float32 or bfloat16).
    :return: bytes
    """
    tensors = {}
    if not meta_params_used:
        tensors = {name: value.detach().to(dtype) for name, value in adapted.params.items()}
    if adapted.context is not None:
        tensors['context'] = adapted.context.detach().float()
    metadata = {'version': info.version, 'stamp_ns': info.stamp_ns, 'adapter': info.adapter,
                'checkpoint': info.checkpoint,
                'params': 'meta' if meta_params_used else 'adapted',
                'loss_before': repr(info.loss_before), 'loss_after': repr(info.loss_after),
                'adapt_ms': repr(info.adapt_ms)}
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
                          adapt_ms=float(metadata['adapt_ms']))
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
