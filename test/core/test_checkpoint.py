"""Checkpoints round-trip exactly and fail clearly when corrupt, foreign or mismatched."""

import analytic
from meta_mpc_ros.core.checkpoint import (CHECKPOINT_VERSION, CheckpointError,
                                          load_checkpoint, save_checkpoint)
from meta_mpc_ros.core.meta_training import fit_normalizer
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
import numpy as np
import pytest
import torch


def make_model(context_dim=0):
    rng = np.random.default_rng(1)
    data = analytic.make_dataset([analytic.sample_task(rng) for _ in range(3)], 50, rng)
    config = ModelConfig(2, 1, analytic.STATE.model_input_indices, (8, 8),
                         context_dim=context_dim)
    model = DynamicsModel(config).reset_parameters(torch.Generator().manual_seed(2))
    fit_normalizer(model, data)
    return model


@pytest.mark.parametrize('method', ['mb', 'grbal', 'rebal'])
def test_round_trip_gives_identical_predictions(tmp_path, method):
    model = make_model(context_dim=4 if method == 'rebal' else 0)
    step_size = ({name: torch.full_like(value, 0.02) for name, value in
                  model.named_parameters()} if method == 'grbal' else None)
    path = tmp_path / 'model.pt'
    digest = save_checkpoint(path, model, method, 'point_mass', analytic.STATE,
                             analytic.ACTION, step_size, {'seed': 3, 'steps': 150})
    loaded = load_checkpoint(path, state_dim=2, action_dim=1, robot='point_mass')
    assert loaded.digest == digest and loaded.method == method
    assert loaded.state_spec == analytic.STATE and loaded.action_spec == analytic.ACTION
    assert loaded.training == {'seed': 3, 'steps': 150}
    states, actions = torch.randn(32, 2), torch.rand(32, 1)
    context = torch.randn(4) if method == 'rebal' else None
    expected = model.predict(model.meta_parameters(), states, actions, context)
    got = loaded.model.predict(loaded.params, states, actions, context)
    assert torch.equal(expected, got)
    if method == 'grbal':
        assert all(torch.equal(step_size[n], loaded.step_size[n]) for n in step_size)


def saved(tmp_path):
    path = tmp_path / 'model.pt'
    save_checkpoint(path, make_model(), 'mb', 'point_mass', analytic.STATE, analytic.ACTION)
    return path


def test_truncated_file_is_a_clear_error(tmp_path):
    path = saved(tmp_path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=str(path)):
        load_checkpoint(path)


def test_flipped_weight_byte_fails_the_hash(tmp_path):
    path = saved(tmp_path)
    content = torch.load(path, weights_only=True)
    first = next(iter(content['params']))
    content['params'][first].view(-1)[0] += 1.0
    torch.save(content, path)
    with pytest.raises(CheckpointError, match='hash mismatch'):
        load_checkpoint(path)


def test_unknown_version_is_refused(tmp_path):
    path = saved(tmp_path)
    content = torch.load(path, weights_only=True)
    content['version'] = CHECKPOINT_VERSION + 1
    torch.save(content, path)
    with pytest.raises(CheckpointError, match='version'):
        load_checkpoint(path)


def test_wrong_sizes_and_robot_are_refused(tmp_path):
    path = saved(tmp_path)
    with pytest.raises(CheckpointError, match='state size 2 does not match the expected 19'):
        load_checkpoint(path, state_dim=19)
    with pytest.raises(CheckpointError, match='action size'):
        load_checkpoint(path, action_dim=2)
    with pytest.raises(CheckpointError, match='millirobot'):
        load_checkpoint(path, robot='millirobot')


def test_foreign_and_missing_files(tmp_path):
    foreign = tmp_path / 'foreign.pt'
    torch.save({'weights': torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match='not a meta_mpc_ros checkpoint'):
        load_checkpoint(foreign)
    with pytest.raises(CheckpointError, match='no such checkpoint'):
        load_checkpoint(tmp_path / 'missing.pt')


def test_pickled_objects_are_not_loaded(tmp_path):
    # weights_only=True refuses arbitrary objects instead of executing their pickle.
    path = tmp_path / 'evil.pt'
    torch.save({'format': 'meta_mpc_ros.checkpoint', 'payload': ValueError('x')}, path)
    with pytest.raises(CheckpointError, match='not a readable checkpoint'):
        load_checkpoint(path)
