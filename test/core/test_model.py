"""The dynamics model: normalisation, functional prediction, the fast planning path."""

from meta_mpc_ros.core.adapters import Adapted
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig, Normalizer
from meta_mpc_ros.core.predictor import Predictor
from meta_mpc_ros.robots.millirobot import MILLIROBOT_STATE
import pytest
import torch


def test_normalizer_fit():
    # Inputs: state entries 1 and the action; deltas: next - state.
    states = torch.tensor([[0.0, 1.0], [0.0, 3.0]])
    actions = torch.tensor([[2.0], [4.0]])
    next_states = states + torch.tensor([[1.0, 0.0], [3.0, 0.0]])
    stats = Normalizer.fit(states, actions, next_states, (1,))
    assert stats.input_mean.tolist() == [2.0, 3.0]
    # Sample std of (1, 3) is sqrt(2); a constant delta gets the floor instead of 0.
    assert stats.input_std.tolist() == pytest.approx([2 ** 0.5, 2 ** 0.5])
    assert stats.delta_mean.tolist() == [2.0, 0.0]
    assert stats.delta_std[1] == pytest.approx(1e-6)


def test_prediction_is_state_plus_denormalised_output():
    config = ModelConfig(3, 1, (1, 2), (4,))
    model = DynamicsModel(config).reset_parameters(torch.Generator().manual_seed(0))
    params = model.meta_parameters()
    for value in params.values():
        value.zero_()
    params['network.2.bias'] += torch.tensor([1.0, -1.0, 0.5])
    model.set_normalizer(Normalizer(torch.zeros(3), torch.ones(3),
                                    torch.tensor([0.1, 0.2, 0.3]), torch.tensor([2.0, 2.0, 2.0])))
    state = torch.tensor([[1.0, 2.0, 3.0]])
    # Zero weights: the output is the last bias; next = s + mean + std * bias.
    expected = torch.tensor([[1.0 + 0.1 + 2.0, 2.0 + 0.2 - 2.0, 3.0 + 0.3 + 1.0]])
    assert torch.allclose(model.predict(params, state, torch.zeros(1, 1)), expected)


def test_predict_uses_the_given_parameters_not_the_module():
    config = ModelConfig(3, 1, (1, 2), (8,))
    model = DynamicsModel(config).reset_parameters(torch.Generator().manual_seed(0))
    params = model.meta_parameters()
    shifted = {name: value + 0.5 for name, value in params.items()}
    states, actions = torch.randn(5, 3), torch.randn(5, 1)
    assert not torch.allclose(model.predict(params, states, actions),
                              model.predict(shifted, states, actions))
    assert torch.equal(model.predict(params, states, actions),
                       model.predict(model.meta_parameters(), states, actions))


@pytest.mark.parametrize('context_dim', [0, 6])
def test_predictor_matches_predict(context_dim):
    config = ModelConfig(MILLIROBOT_STATE.dim, 2, MILLIROBOT_STATE.model_input_indices,
                         (64, 64, 64), context_dim=context_dim)
    model = DynamicsModel(config).reset_parameters(torch.Generator().manual_seed(1))
    params = model.meta_parameters()
    context = torch.randn(context_dim) if context_dim else None
    states, actions = torch.randn(100, config.state_dim), torch.rand(100, 2)
    expected = model.predict(params, states, actions, context)
    fast = Predictor(model, Adapted(params, context))(states, actions)
    assert torch.allclose(fast, expected, atol=1e-5)
    low = Predictor(model, Adapted(params, context), torch.bfloat16)(states, actions)
    assert low.dtype == torch.float32
    # bf16 keeps ~3 significant digits of the normalised output (std 1 here).
    assert float((low - expected).abs().max()) < 0.05


def test_rebal_predictor_needs_a_context():
    config = ModelConfig(3, 1, (0, 1, 2), (8,), context_dim=2)
    model = DynamicsModel(config)
    with pytest.raises(ValueError, match='context'):
        Predictor(model, Adapted(model.meta_parameters()))


def test_config_validation():
    with pytest.raises(ValueError):
        ModelConfig(3, 1, (5,))
    with pytest.raises(ValueError):
        ModelConfig(3, 1, (0,), activation='sigmoid')
    round_trip = ModelConfig.from_dict(ModelConfig(3, 1, (0, 2), (4, 4), 'tanh', 2,
                                                   'lstm').to_dict())
    assert round_trip == ModelConfig(3, 1, (0, 2), (4, 4), 'tanh', 2, 'lstm')


@pytest.mark.parametrize('activation', ['relu', 'tanh', 'elu', 'silu'])
def test_predictor_kernels_match_predict(activation, predictor_kernel):
    config = ModelConfig(MILLIROBOT_STATE.dim, 2, MILLIROBOT_STATE.model_input_indices,
                         (32, 32), activation=activation)
    model = DynamicsModel(config).reset_parameters(torch.Generator().manual_seed(2))
    params = model.meta_parameters()
    states, actions = torch.randn(50, config.state_dim), torch.rand(50, 2)
    kept = states.clone(), actions.clone()
    expected = model.predict(params, states, actions)
    assert torch.allclose(Predictor(model, Adapted(params))(states, actions), expected,
                          atol=1e-5)
    low = Predictor(model, Adapted(params), torch.bfloat16)(states, actions)
    assert float((low - expected).abs().max()) < 0.05
    assert torch.equal(states, kept[0]) and torch.equal(actions, kept[1])   # inputs untouched
