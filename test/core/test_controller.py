"""The controller refuses what it cannot plan from and model updates that are not fresh."""

import math

from meta_mpc_ros.core.adapters import Adapted
from meta_mpc_ros.core.controller import ControllerConfig, MAX_STATE_MAGNITUDE, MPCController
from meta_mpc_ros.core.costs import build_cost
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.robots.millirobot import MILLIROBOT_ACTION, MILLIROBOT_STATE
import numpy as np
import pytest
import torch


def controller():
    """Return a millirobot controller with a small untrained model, minimising effort."""
    spec = MILLIROBOT_STATE
    config = ModelConfig(spec.dim, MILLIROBOT_ACTION.dim, spec.model_input_indices, (16,))
    model = DynamicsModel(config)
    cost = build_cost([{'name': 'control_effort', 'weight': 1.0}], spec)
    return MPCController(model, model.meta_parameters(), None, cost, spec, MILLIROBOT_ACTION,
                         ControllerConfig(num_samples=8, horizon=3, dtype='float32'))


def state(x=0.0):
    values = np.zeros(MILLIROBOT_STATE.dim)
    values[MILLIROBOT_STATE.index('cos_yaw')] = 1.0
    values[MILLIROBOT_STATE.index('x')] = x
    return values


def test_a_state_beyond_range_is_refused_and_the_next_plans():
    mpc = controller()
    for huge in (1e39, MAX_STATE_MAGNITUDE * 2, math.nan):
        with pytest.raises(ValueError, match='out of range'):
            mpc.act(state(huge), 0.0)
    assert np.isfinite(mpc.act(state(0.0), 0.0).action).all()


def test_a_diverging_adapted_model_is_discarded_for_theta_star():
    mpc = controller()
    # Weights of 1e30 overflow float32 in the first layer's output: the plan is NaN.
    adapted = {name: torch.full_like(value, 1e30) for name, value in mpc.model.meta_parameters(
    ).items()}
    mpc.set_model(Adapted(adapted), 3, 0.0)
    result = mpc.act(state(), 0.1)
    assert result.fallback and np.isfinite(result.action).all()
    assert mpc.adapted_predictor is None


def test_updates_must_be_newer_than_the_model_in_use_and_fresh():
    mpc = controller()                           # model_timeout_s 1.0
    mpc.check_update(1, 10.0, 10.2)
    mpc.set_model(Adapted(mpc.model.meta_parameters()), 1, 10.0)
    with pytest.raises(ValueError, match='not newer'):
        mpc.check_update(1, 10.0, 10.3)          # the same update, replayed
    with pytest.raises(ValueError, match='old'):
        mpc.check_update(2, 10.5, 27.5)          # 17 s old
    with pytest.raises(ValueError, match='future'):
        mpc.check_update(3, 100.0, 10.5)
    mpc.check_update(1, 10.6, 10.7)              # a restarted adapter counts from 1 again


def test_the_controller_tracks_a_path_only_for_terms_that_read_it():
    from meta_mpc_ros.core import interfaces
    from meta_mpc_ros.core.costs import COST_TERMS
    assert COST_TERMS['path_tracking'].reads_path
    assert not any(getattr(term, 'reads_path', False) for name, term in COST_TERMS.items()
                   if name != 'path_tracking')
    # Every registered term has what the CostTerm contract names.
    for term in COST_TERMS.values():
        assert all(hasattr(term, member) for member in ('name', 'settings', '__call__'))
    assert {'name', 'settings', 'reads_path'} <= set(interfaces.CostTerm.__annotations__)
