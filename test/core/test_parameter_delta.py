"""Model updates as low-rank factors against theta*: exact for GrBAL, measured when truncated."""

from hypothesis import given, settings
from hypothesis import strategies as st
from meta_mpc_ros.core.adapters import (Adapted, ContinualAdapter, GrBALAdapter, MBAdapter,
                                        Window)
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.core.model_update import pack_update, unpack_update, UpdateInfo
from meta_mpc_ros.core.parameter_delta import (parameter_delta, rank_one, truncated_delta,
                                               truncated_factors)
from meta_mpc_ros.core.step_size import StepSize
from meta_mpc_ros.core.tensor_codec import decode, encode
from meta_mpc_ros.robots.millirobot import MILLIROBOT_ACTION, MILLIROBOT_STATE
import pytest
import torch


def millirobot_model(hidden, seed=0):
    config = ModelConfig(MILLIROBOT_STATE.dim, MILLIROBOT_ACTION.dim,
                         MILLIROBOT_STATE.model_input_indices, hidden)
    model = DynamicsModel(config).reset_parameters(torch.Generator().manual_seed(seed))
    return model, model.meta_parameters()


def window(steps, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return Window(torch.randn(steps + 1, MILLIROBOT_STATE.dim, generator=generator),
                  25.0 * torch.rand(steps, MILLIROBOT_ACTION.dim, generator=generator))


def step_sizes(params):
    """Return psi in each form a GrBAL adapter may hold it."""
    shapes = {name: value.shape for name, value in params.items()}
    factored = StepSize(shapes, 'factored', 1e-2)
    with torch.no_grad():
        for value in factored.free.values():     # rows and columns that differ
            value.add_(0.3 * torch.randn(value.shape, generator=torch.Generator().manual_seed(2)))
    per_entry = StepSize(shapes, 'per_parameter', 1e-2)
    with torch.no_grad():
        for value in per_entry.free.values():
            value.add_(0.3 * torch.randn(value.shape, generator=torch.Generator().manual_seed(3)))
    return {'factored': factored, 'factored as a checkpoint holds it': factored.values(),
            'scalar': torch.tensor(1e-2), 'per entry': per_entry.values()}


def info(version=1):
    return UpdateInfo(version, 123, 'grbal', 'abc', 0.5, 0.1, 1.2)


@pytest.mark.parametrize('form', ['factored', 'factored as a checkpoint holds it', 'scalar',
                                  'per entry'])
def test_grbal_delta_decodes_to_the_adapted_parameters(form):
    model, params = millirobot_model((32, 32))
    psi = step_sizes(params)[form]
    data = window(8)
    adapter = GrBALAdapter(psi)
    adapted = adapter.adapt(model, params, data)
    delta = parameter_delta(adapter, model, params, adapted.params, data, rank=0)
    assert delta.error == 0.0
    # A rank-one psi makes every 32-wide weight a rank-8 change (8 transitions): factors
    # 8 x (32 + 32) < 32 x 32 numbers. A per-entry psi has no factors and goes whole.
    assert (delta.rank == 8) == (form != 'per entry')
    received, got = unpack_update(pack_update(adapted, False, info(), delta=delta), model,
                                  params, 'abc')
    assert got.rank == delta.rank and got.delta_error == 0.0
    for name, value in adapted.params.items():
        assert torch.allclose(received.params[name], value, rtol=1e-5, atol=1e-6), name


def test_grbal_update_of_the_paper_model_is_a_tenth_of_the_weights():
    model, params = millirobot_model((512, 512, 512))
    psi = step_sizes(params)['factored as a checkpoint holds it']
    adapter = GrBALAdapter(psi)
    data = window(16)
    adapted = adapter.adapt(model, params, data)
    full = pack_update(adapted, False, info())
    small = pack_update(adapted, False, info(), delta=parameter_delta(
        adapter, model, params, adapted.params, data, rank=0))
    # Factors of rank M = 16: 16 (512 + 18) + 2 x 16 (512 + 512) + 16 (19 + 512) numbers,
    # plus the 3 x 512 + 19 biases: 51,299 float32 = 205 KB against 544,787 = 2.18 MB.
    assert len(small) <= 220_000 and len(full) >= 10 * len(small)
    received, _ = unpack_update(small, model, params, 'abc')
    assert max(float((received.params[n] - v).abs().max())
               for n, v in adapted.params.items()) < 1e-5


def test_truncation_error_is_the_dropped_singular_values():
    # dW = Q1 diag(4, 3, 2) Q2^T: rank 2 keeps 4 and 3 and drops 2, a relative Frobenius
    # error of 2 / sqrt(4^2 + 3^2 + 2^2) = 2 / sqrt(29) = 0.371; rank 3 is exact.
    generator = torch.Generator().manual_seed(0)
    left = torch.linalg.qr(torch.randn(40, 3, generator=generator)).Q
    right = torch.linalg.qr(torch.randn(30, 3, generator=generator)).Q
    change = left @ torch.diag(torch.tensor([4.0, 3.0, 2.0])) @ right.T
    _, _, error = truncated_factors(change, 2, torch.Generator().manual_seed(1))
    assert error == pytest.approx(2 / 29 ** 0.5, rel=1e-4)
    u, v, error = truncated_factors(change, 3, torch.Generator().manual_seed(1))
    assert error < 1e-5 and torch.allclose(u @ v, change, atol=1e-5)


def test_continual_change_is_truncated_to_the_stated_rank_with_its_error():
    model, params = millirobot_model((64, 64))
    psi = step_sizes(params)['factored']
    adapter = ContinualAdapter(psi, params)
    carried = params
    for seed in range(6):               # six windows: the carried change has rank > 8
        carried = adapter.adapt(model, carried, window(8, seed)).params
    delta = parameter_delta(adapter, model, params, carried, window(8, 5), rank=4)
    assert delta.rank == 4 and 0.0 < delta.error < 1.0
    exact = truncated_delta(params, carried, rank=48)
    assert exact.error < 1e-4
    received, got = unpack_update(pack_update(Adapted(carried), False, info(), delta=delta),
                                  model, params, 'abc')
    assert got.delta_error == pytest.approx(delta.error)
    for name, value in carried.items():
        change = value - params[name]
        error = torch.linalg.norm(received.params[name] - value)
        assert float(error) <= delta.error * float(torch.linalg.norm(change)) + 1e-6, name
    assert parameter_delta(adapter, model, params, carried, window(8), rank=0) is None
    assert parameter_delta(MBAdapter(), model, params, params, window(8), rank=4).error == 0.0


def test_rank_one_recognises_an_outer_product_only():
    row, column = torch.tensor([1.0, 2.0]), torch.tensor([0.5, 1.0, 3.0])
    found = rank_one(row[:, None] * column[None, :])
    assert found is not None and torch.allclose(found[0][:, None] * found[1][None, :],
                                                row[:, None] * column[None, :])
    assert rank_one(torch.tensor([[1.0, 2.0], [2.0, 1.0]])) is None
    assert rank_one(torch.tensor([[1.0, -2.0], [2.0, -4.0]])) is None


def delta_tensors():
    """Return (model, theta*, a valid 'delta' update's tensors and metadata)."""
    model, params = millirobot_model((8,))
    delta = truncated_delta(params, {n: v + 0.01 for n, v in params.items()}, rank=2)
    tensors, metadata = decode(pack_update(Adapted(params), False, info(), delta=delta))
    return model, params, tensors, metadata


@pytest.mark.parametrize('change, match', [
    (lambda t: t.pop('network.0.weight:u'), 'once'),
    (lambda t: t.update({'network.0.weight:v': torch.zeros(3, 18)}), 'multiply'),
    (lambda t: t.update({'network.0.weight:u': torch.zeros(8, 2, dtype=torch.int32)}), 'dtype'),
    (lambda t: t.update({'network.0.weight': torch.zeros(8, 18)}), 'once'),
    (lambda t: t.update({'network.9.weight:u': torch.zeros(8, 2)}), 'unexpected'),
    (lambda t: t.update({'network.0.bias': torch.zeros(9)}), 'shape'),
    (lambda t: t['network.0.weight:v'].view(-1).__setitem__(0, float('inf')), 'NaN or inf'),
])
def test_malformed_delta_is_refused_in_one_line(change, match):
    model, params, tensors, metadata = delta_tensors()
    change(tensors)
    with pytest.raises(ValueError, match=match) as error:
        unpack_update(encode(tensors, metadata), model, params, 'abc')
    assert '\n' not in str(error.value)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(['network.0.weight', 'network.0.weight:u',
                                        'network.0.weight:v', 'network.0.bias',
                                        'network.2.weight:u', 'network.2.weight:v',
                                        'network.2.bias', 'other']),
                       st.tuples(st.lists(st.integers(0, 20), max_size=3),
                                 st.sampled_from([torch.float32, torch.bfloat16,
                                                  torch.int64]))))
def test_any_delta_tensors_are_taken_or_refused_with_value_error(entries):
    model, params = millirobot_model((8,))
    tensors = {name: torch.ones(shape, dtype=dtype) for name, (shape, dtype) in entries.items()}
    metadata = dict(decode(pack_update(Adapted(params), True, info()))[1], params='delta')
    try:
        adapted, _ = unpack_update(encode(tensors, metadata), model, params, 'abc')
    except ValueError:
        return
    assert adapted.params.keys() == params.keys()
