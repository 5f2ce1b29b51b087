"""psi is positive, kept with Adam's state in training checkpoints, and survives a warm start."""

import dataclasses

from meta_mpc_ros.core.checkpoint import load_checkpoint
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.pipeline.train import load_data, train, TrainRequest
import torch


def test_psi_survives_a_warm_start_unchanged_and_stays_positive(
        tiny_models, tmp_path, capsys):
    first = load_checkpoint(tiny_models['grbal'])
    saved = first.training_state
    assert saved['step_size']['mode'] == 'factored'
    assert saved['optimizer']['state'], 'Adam moments are stored for the next round'
    assert all((value > 0).all() for value in first.step_size.values())
    # psi moved away from its initial 0.01 during the first round.
    assert any(not torch.allclose(value, torch.full_like(value, 0.01))
               for value in first.step_size.values())

    config = load_robot_config('millirobot')
    config = dataclasses.replace(
        config, model=dataclasses.replace(config.model, hidden_sizes=(64, 64), context_dim=8),
        training=dataclasses.replace(config.training, iterations=0, validation_windows=64))
    dataset = load_data([tiny_models['data']], config)
    out = tmp_path / 'round1.pt'
    # Zero iterations: the warm-started round must hand psi on exactly as it came.
    train(TrainRequest(robot_config=config, method='grbal', dataset=dataset, out=out,
                       warm_start=tiny_models['grbal'], progress=False))
    second = load_checkpoint(out)
    assert 'psi starts afresh' not in capsys.readouterr().out
    for name, value in first.step_size.items():
        assert torch.equal(second.step_size[name], value), name
    for name, value in saved['step_size']['free'].items():
        assert torch.equal(second.training_state['step_size']['free'][name], value), name
