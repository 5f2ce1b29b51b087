"""
Property tests of the parsers that read untrusted input (model updates, checkpoints).

The property: any input gives a value or the project's own error (ValueError and its
subclasses CheckpointError), never another exception.
"""

import json
import struct

import analytic
from hypothesis import given, HealthCheck, settings, strategies as st
from meta_mpc_ros.core import checkpoint as checkpoints
from meta_mpc_ros.core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.core.model_update import unpack_update
from meta_mpc_ros.core.tensor_codec import decode, encode
import pytest
import torch


# JSON-like values, as a hostile header may hold them.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.text(max_size=8), children, max_size=4),
    max_leaves=12)
ENTRY = st.fixed_dictionaries({}, optional={
    'dtype': st.sampled_from(['F32', 'F64', 'BF16', 'I64', 'U8', 'X9']) | JSON,
    'shape': st.lists(st.integers(-3, 8), max_size=3) | JSON,
    'data_offsets': st.lists(st.integers(-4, 64), max_size=3) | JSON})
HEADER = st.dictionaries(st.text(max_size=6), ENTRY | JSON, max_size=3).flatmap(
    lambda tensors: st.one_of(st.just(tensors), JSON.map(
        lambda metadata: dict(tensors, __metadata__=metadata))))


MISSING = object()


def payload(header, body):
    """Return safetensors bytes: header length, JSON header, body."""
    text = json.dumps(header).encode()
    return struct.pack('<Q', len(text)) + text + body


def model_and_params():
    model = DynamicsModel(ModelConfig(3, 1, (1, 2), (4,)))
    return model, model.meta_parameters()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_value_error(data):
    try:
        tensors, metadata = decode(data)
    except ValueError:
        return
    assert isinstance(metadata, dict) and all(isinstance(t, torch.Tensor)
                                              for t in tensors.values())


@settings(max_examples=400, deadline=None)
@given(HEADER, st.binary(max_size=64))
def test_any_header_decodes_or_raises_value_error(header, body):
    try:
        decode(payload(header, body))
    except ValueError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(['version', 'stamp_ns', 'adapter', 'checkpoint',
                                        'params', 'loss_before', 'loss_after', 'adapt_ms']),
                       st.text(max_size=6) | st.sampled_from(['meta', 'adapted', 'abc', '1',
                                                              'nan', '1e400'])),
       st.booleans())
def test_any_update_metadata_is_taken_or_refused_with_value_error(metadata, with_params):
    model, params = model_and_params()
    tensors = {name: value + 0.5 for name, value in params.items()} if with_params else {}
    try:
        adapted, info = unpack_update(encode(tensors, metadata), model, params, 'abc')
    except ValueError:
        return
    assert info.checkpoint == 'abc' and adapted.params.keys() == params.keys()


@pytest.fixture(scope='module')
def valid_content(tmp_path_factory):
    """Return the dict a valid checkpoint file holds."""
    path = tmp_path_factory.mktemp('checkpoint') / 'valid.pt'
    save_checkpoint(path, DynamicsModel(ModelConfig(2, 1, (1,), (4,))), 'mb', 'point_mass',
                    analytic.STATE, analytic.ACTION)
    return torch.load(path, weights_only=True)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(['method', 'robot', 'model_config', 'state_spec', 'action_spec',
                        'normalizer', 'params', 'step_size', 'training']),
       JSON | st.dictionaries(st.sampled_from(['state_dim', 'action_dim', 'input_indices',
                                               'hidden_sizes', 'names', 'units', 'low',
                                               'high', 'input_mean', 'activation']),
                              JSON, max_size=4) | st.just(MISSING))
def test_any_checkpoint_header_loads_or_raises_checkpoint_error(
        valid_content, tmp_path_factory, field, value):
    # The hash is recomputed, so the damage reaches the parsing behind it.
    content = dict(valid_content, **{field: value})
    if value is MISSING:
        del content[field]
    try:
        content['hash'] = checkpoints._digest(content)
    except Exception:   # what the hash cannot cover, loading must refuse too
        content['hash'] = 'unhashable'
    path = tmp_path_factory.mktemp('damaged') / 'model.pt'
    torch.save(content, path)
    try:
        loaded = load_checkpoint(path)
    except CheckpointError:
        return
    assert loaded.model.config.state_dim == analytic.STATE.dim
