"""Cost terms give the values derived by hand in each comment."""

from meta_mpc_ros.core.costs import build_cost, CostContext, nearest_points
from meta_mpc_ros.core.spaces import StateSpec
import pytest
import torch

SPEC = StateSpec(('x', 'y', 'cos_yaw', 'sin_yaw'), ('m', 'm', '1', '1'))


def straight_path():
    xs = torch.arange(0.0, 2.01, 0.01)
    points = torch.stack([xs, torch.zeros_like(xs)], 1)
    return CostContext(points, torch.zeros(len(xs)), xs.clone())


def test_path_tracking_on_a_straight_line():
    cost = build_cost([{'name': 'path_tracking', 'weight': 2.0, 'distance': 1.0,
                        'heading': 0.5, 'progress': 3.0}], SPEC)
    # One sample, two steps at y = 0.1 heading +x, ending at x = 0.5:
    # 2 * [(0.1 + 0.1) + 0.5 * 0 - 3 * 0.5] = 2 * (0.2 - 1.5) = -2.6.
    states = torch.tensor([[[0.0, 0.0, 1.0, 0.0], [0.25, 0.1, 1.0, 0.0],
                            [0.5, 0.1, 1.0, 0.0]]])
    value = cost(states, torch.zeros(1, 2, 2), straight_path())
    assert float(value) == pytest.approx(-2.6, abs=1e-5)
    # Facing -y (heading error pi/2 at both steps) adds 2 * 0.5 * 2 * pi/2 = pi.
    turned = states.clone()
    turned[:, 1:, 2:] = torch.tensor([0.0, -1.0])
    assert float(cost(turned, torch.zeros(1, 2, 2), straight_path())) == \
        pytest.approx(-2.6 + torch.pi, abs=1e-4)


def test_forward_velocity_effort_and_rate():
    spec = StateSpec(('x', 'v'), ('m', 'm/s'))
    cost = build_cost([{'name': 'forward_velocity', 'weight': 1.0, 'position': 'x', 'dt': 0.05},
                       {'name': 'control_effort', 'weight': 0.1},
                       {'name': 'action_rate', 'weight': 1.0}], spec)
    states = torch.tensor([[[0.0, 0.0], [0.1, 0.0], [0.3, 0.0]]])
    actions = torch.tensor([[[1.0], [3.0]]])
    context = CostContext(previous_action=torch.tensor([0.0]))
    parts = cost.breakdown(states, actions, context)
    # Forward: -(0.3 - 0.0) / 0.05 = -6. Effort: 0.1 * (1 + 9) = 1.
    # Rate: (1 - 0)^2 + (3 - 1)^2 = 5.
    assert float(parts['forward_velocity']) == pytest.approx(-6.0)
    assert float(parts['control_effort']) == pytest.approx(1.0)
    assert float(parts['action_rate']) == pytest.approx(5.0)
    assert float(cost(states, actions, context)) == pytest.approx(0.0)
    cost.set_weight('control_effort', 0.2)
    assert float(cost.breakdown(states, actions, context)['control_effort']) == \
        pytest.approx(2.0)


def test_bad_specs():
    with pytest.raises(ValueError, match='unknown cost term'):
        build_cost([{'name': 'speed'}], SPEC)
    with pytest.raises(KeyError):
        build_cost([{'name': 'path_tracking', 'entries': ['x', 'z', 'cos_yaw', 'sin_yaw']}],
                   SPEC)
    with pytest.raises(ValueError, match='at least one'):
        build_cost([], SPEC)
    with pytest.raises(ValueError, match='path'):
        build_cost([{'name': 'path_tracking'}], SPEC)(
            torch.zeros(1, 2, 4), torch.zeros(1, 1, 2), CostContext())


def test_nearest_points_match_the_differences():
    generator = torch.Generator().manual_seed(0)
    points, path = torch.randn(300, 2, generator=generator), torch.randn(40, 2,
                                                                         generator=generator)
    distance, index = nearest_points(points, path)
    pairs = (points[:, None] - path[None]).norm(dim=-1)           # (300, 40) directly
    expected, expected_index = pairs.min(-1)
    assert torch.allclose(distance, expected, atol=1e-4)
    # Ties aside, the same path point; either way at the same distance.
    assert torch.allclose(pairs.gather(1, index[:, None])[:, 0], expected, atol=1e-4)
    assert float((index == expected_index).float().mean()) > 0.99
