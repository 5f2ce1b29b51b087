"""core.command_limits: velocity bounds and acceleration limits, as a base's driver has."""

from meta_mpc_ros.core.command_limits import CommandLimiter
import numpy as np
import pytest


def limiter():
    """Return a base's limiter: |v| <= 0.3 m/s, |w| <= 2 rad/s, 1 m/s^2 and 4 rad/s^2."""
    return CommandLimiter((-0.3, -2.0), (0.3, 2.0), (1.0, 4.0))


def test_a_command_is_clipped_to_its_bounds_then_to_its_acceleration():
    base = limiter()
    # From rest, 0.1 s: bounds give (0.3, 2.0); 1 m/s^2 * 0.1 s = 0.1 and 4 * 0.1 = 0.4.
    np.testing.assert_allclose(base([5.0, 9.0], 0.1), [0.1, 0.4])
    np.testing.assert_allclose(base([5.0, 9.0], 0.1), [0.2, 0.8])
    # A reversal ramps down from (0.2, 0.8) by the same steps, never jumps to the bound.
    np.testing.assert_allclose(base([-5.0, -9.0], 0.1), [0.1, 0.4])
    # 0.5 s is enough to reach any bound from 0.1: 0.1 - 0.5 < -0.3, 0.4 - 2 = -1.6 > -2.
    np.testing.assert_allclose(base([-5.0, -9.0], 0.5), [-0.3, -1.6])
    # A command within reach is taken as it is.
    np.testing.assert_allclose(base([-0.25, -1.5], 0.1), [-0.25, -1.5])


def test_no_time_means_no_change_and_reset_starts_from_rest():
    base = limiter()
    base([0.3, 2.0], 1.0)
    np.testing.assert_allclose(base([0.0, 0.0], 0.0), [0.3, 2.0])
    np.testing.assert_allclose(base([0.0, 0.0], -1.0), [0.3, 2.0])     # clock went back
    base.reset()
    np.testing.assert_allclose(base([0.3, 2.0], 0.05), [0.05, 0.2])


def test_without_acceleration_limits_only_the_bounds_apply():
    base = CommandLimiter((-0.3, -2.0), (0.3, 2.0))
    np.testing.assert_allclose(base([1.0, -3.0], 0.0), [0.3, -2.0])


@pytest.mark.parametrize('command', [[np.nan, 0.0], [0.0, np.inf], [0.1]])
def test_a_bad_command_is_refused_and_changes_nothing(command):
    base = limiter()
    base([0.1, 0.1], 1.0)
    with pytest.raises(ValueError, match='2 finite values'):
        base(command, 0.1)
    np.testing.assert_allclose(base.last, [0.1, 0.1])


def test_limits_must_be_positive_and_one_per_entry():
    with pytest.raises(ValueError, match='positive'):
        CommandLimiter((-1.0, -1.0), (1.0, 1.0), (1.0, 0.0))
    with pytest.raises(ValueError, match='2 positive'):
        CommandLimiter((-1.0, -1.0), (1.0, 1.0), (1.0,))
