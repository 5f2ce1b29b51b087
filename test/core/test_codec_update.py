"""Model updates: safetensors bytes that the controller verifies before use."""

import json
import struct

from meta_mpc_ros.core.adapters import Adapted
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.core.model_update import pack_update, unpack_update, UpdateInfo
from meta_mpc_ros.core.tensor_codec import decode, encode
import pytest
import safetensors.torch
import torch


def test_codec_matches_the_safetensors_library():
    tensors = {'a': torch.arange(6, dtype=torch.float32).reshape(2, 3),
               'b': torch.tensor([1.5], dtype=torch.bfloat16), 'c': torch.zeros(0)}
    data = encode(tensors, {'version': 7})
    loaded = safetensors.torch.load(data)
    assert all(torch.equal(loaded[name], tensors[name]) for name in tensors)
    decoded, metadata = decode(safetensors.torch.save(tensors, {'version': '7'}))
    assert metadata == {'version': '7'}
    assert all(torch.equal(decoded[name], tensors[name]) for name in tensors)


@pytest.mark.parametrize('payload', [b'', b'\x00' * 7, b'\xff' * 16,
                                     b'\x08\x00\x00\x00\x00\x00\x00\x00{"a":1}   '])
def test_codec_rejects_malformed_bytes(payload):
    with pytest.raises(ValueError):
        decode(payload)


def test_codec_rejects_offsets_outside_the_payload():
    data = bytearray(encode({'a': torch.zeros(4)}))
    with pytest.raises(ValueError, match='offsets'):
        decode(bytes(data[:-4]))


def model_and_params(context_dim=0):
    model = DynamicsModel(ModelConfig(3, 1, (1, 2), (8,), context_dim=context_dim))
    return model, model.meta_parameters()


def info(version=1, checkpoint='abc'):
    return UpdateInfo(version, 123, 'grbal', checkpoint, 0.5, 0.1, 1.2)


def test_adapted_update_round_trip():
    model, params = model_and_params()
    adapted = {name: value + 0.1 for name, value in params.items()}
    data = pack_update(Adapted(adapted), False, info(4))
    received, got = unpack_update(data, model, params, 'abc')
    assert got.version == 4 and got.loss_after == 0.1
    assert all(torch.equal(received.params[n], adapted[n]) for n in adapted)


def test_meta_update_carries_no_weights():
    model, params = model_and_params(context_dim=2)
    data = pack_update(Adapted(params, torch.tensor([0.3, -0.2])), True, info())
    received, _ = unpack_update(data, model, params, 'abc')
    assert received.params is params
    assert received.context.tolist() == pytest.approx([0.3, -0.2])
    assert len(data) < 1000


def test_foreign_nonfinite_or_mismatched_updates_are_refused():
    model, params = model_and_params()
    with pytest.raises(ValueError, match='checkpoint'):
        unpack_update(pack_update(Adapted(params), False, info(checkpoint='other')), model,
                      params, 'abc')
    broken = {name: value.clone() for name, value in params.items()}
    next(iter(broken.values())).view(-1)[0] = float('nan')
    with pytest.raises(ValueError, match='NaN'):
        unpack_update(pack_update(Adapted(broken), False, info()), model, params, 'abc')
    other, other_params = model_and_params(context_dim=0)
    bigger = DynamicsModel(ModelConfig(3, 1, (1, 2), (16,))).meta_parameters()
    with pytest.raises(ValueError, match='do not match'):
        unpack_update(pack_update(Adapted(bigger), False, info()), other, other_params, 'abc')


def header_payload(header):
    """Return safetensors bytes with this JSON header and 16 bytes of data."""
    text = json.dumps(header).encode()
    return struct.pack('<Q', len(text)) + text + bytes(16)


@pytest.mark.parametrize('header', [
    {'a': {'dtype': 'F32', 'shape': [-1, -1], 'data_offsets': [0, 4]}},
    {'a': {'dtype': 'F32', 'shape': ['a'], 'data_offsets': [0, 4]}},
    {'a': {'dtype': 'F32', 'shape': [1], 'data_offsets': ['0', '4']}},
    {'a': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4, 8]}},
    {'a': {'dtype': ['F32'], 'shape': [1], 'data_offsets': [0, 4]}},
    {'a': {'dtype': 'F32', 'shape': 4, 'data_offsets': [0, 16]}},
    {'a': {'dtype': 'F32', 'shape': [True], 'data_offsets': [0, 4]}},
    {'a': [1, 2, 3]},
    {'__metadata__': ['not', 'a', 'dict']},
    {'__metadata__': {'version': 3}},
])
def test_codec_refuses_malformed_headers_with_value_error(header):
    # Each raised RuntimeError or TypeError before, which the controller did not catch.
    with pytest.raises(ValueError):
        decode(header_payload(header))


def test_deeply_nested_header_is_refused():
    text = b'[' * 100000
    with pytest.raises(ValueError):
        decode(struct.pack('<Q', len(text)) + text)
