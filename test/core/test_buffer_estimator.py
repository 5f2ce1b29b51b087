"""The transition ring buffer and the control-rate state estimator."""

import math

from meta_mpc_ros.core.buffer import TransitionBuffer
from meta_mpc_ros.core.estimator import CommandHistory, StateEstimator
from meta_mpc_ros.robots.millirobot import MILLIROBOT, MILLIROBOT_STATE
import pytest


def test_window_is_the_last_transitions_in_order():
    buffer = TransitionBuffer(capacity=5, state_dim=1, action_dim=1)
    for t in range(8):                       # wraps around the 5 slots
        buffer.append([t], [10 + t])
    states, actions = buffer.window(3)
    # The newest state (7) closes the transition 6 -> 7; its own action is not used.
    assert states[:, 0].tolist() == [4, 5, 6, 7]
    assert actions[:, 0].tolist() == [14, 15, 16]
    assert buffer.states.shape == (5, 1)     # memory stays fixed


def test_buffer_rejects_bad_input_and_keeps_its_contents():
    buffer = TransitionBuffer(capacity=4, state_dim=2, action_dim=1)
    buffer.append([0.0, 1.0], [0.5])
    with pytest.raises(ValueError, match='NaN or inf'):
        buffer.append([math.nan, 1.0], [0.5])
    with pytest.raises(ValueError, match='NaN or inf'):
        buffer.append([0.0, 1.0], [math.inf])
    with pytest.raises(ValueError, match='expected state'):
        buffer.append([0.0, 1.0, 2.0], [0.5])
    assert len(buffer) == 1
    with pytest.raises(ValueError, match='need 2 states'):
        buffer.window(1)


def test_command_average_is_time_weighted():
    history = CommandHistory(action_dim=1)
    history.add(0.0, [1.0])
    history.add(0.07, [3.0])
    # Over [0, 0.1]: 1.0 for 0.07 s and 3.0 for 0.03 s -> (0.07 + 0.09) / 0.1 = 1.6.
    assert history.average(0.0, 0.1)[0] == pytest.approx(1.6)
    assert history.at(-1.0)[0] == 0.0        # before any command: stopped


def feed(estimator, t, x, command=None, joints=True):
    quaternion = [0.0, 0.0, math.sin(0.1), math.cos(0.1)]     # yaw 0.2 rad
    if command is not None:
        estimator.on_command(t, command)
    estimator.on_odometry(t, [x, 0.0, 0.02], quaternion, [0.1, 0, 0], [0, 0, 0.3])
    if joints:
        estimator.on_joints(t, [0.5, 0.5 + math.pi], [6.0, 6.0])
    return estimator.try_sample()


def test_estimator_builds_states_and_windows():
    estimator = StateEstimator(MILLIROBOT, control_dt=0.1, window=3, stale_timeout_s=0.5)
    assert estimator.try_sample() is None                      # waiting for data
    samples = [feed(estimator, 0.1 * k, 0.01 * k, command=[float(k), float(k)])
               for k in range(6)]
    assert samples[2].window_states is None
    last = samples[-1]
    assert last.state.shape == (MILLIROBOT_STATE.dim,)
    assert last.state[MILLIROBOT_STATE.index('cos_yaw')] == pytest.approx(math.cos(0.2))
    assert last.window_states[:, 0].tolist() == pytest.approx([0.02, 0.03, 0.04, 0.05])
    # Command k is applied from t = 0.1 k, so transition k -> k+1 carries command k.
    assert last.window_actions[:, 0].tolist() == pytest.approx([2.0, 3.0, 4.0])


def test_estimator_samples_at_the_control_rate_from_faster_odometry():
    estimator = StateEstimator(MILLIROBOT, control_dt=0.1, window=2)
    # Odometry at 50 Hz: only every fifth message (0.1 s apart) becomes a sample.
    stamps = [s.stamp for k in range(26) if (s := feed(estimator, 0.02 * k, 0.0))]
    assert stamps == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])


def test_estimator_waits_for_the_joint_reading_of_the_same_stamp():
    estimator = StateEstimator(MILLIROBOT, control_dt=0.1, window=2)
    assert feed(estimator, 0.0, 0.0, joints=False) is None     # joints not in yet
    estimator.on_joints(0.0, [0.5, 0.5], [1.0, 1.0])
    assert estimator.try_sample() is not None                  # now it is


def test_estimator_stale_odometry_resets_the_window():
    estimator = StateEstimator(MILLIROBOT, control_dt=0.1, window=2, stale_timeout_s=0.3)
    for k in range(4):
        assert feed(estimator, 0.1 * k, 0.0) is not None
    assert estimator.check(1.0) == 'stale'
    assert len(estimator.buffer) == 0                          # no transition spans a gap
    assert feed(estimator, 1.0, 0.0).window_states is None


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError):
        StateEstimator(MILLIROBOT, control_dt=0.0)


def test_commands_are_clipped_to_the_action_box_where_stored():
    # The simulator clips [1e9, -5] to the box [0, 25]^2 before applying it, so the
    # recorded transition must carry [25, 0], not the raw request.
    estimator = StateEstimator(MILLIROBOT, control_dt=0.1, window=2)
    estimator.on_command(0.0, [1e9, -5.0])
    assert estimator.commands.at(0.0).tolist() == [25.0, 0.0]
    with pytest.raises(ValueError):
        estimator.on_command(0.1, [math.nan, 0.0])


def test_a_sample_from_the_future_does_not_block_later_ones():
    estimator = StateEstimator(MILLIROBOT, control_dt=0.1, window=2, stale_timeout_s=0.5)
    for k in range(3):
        assert feed(estimator, 0.1 * k, 0.0) is not None
    assert feed(estimator, 1000.0, 0.0) is not None            # a stamp 1000 s ahead
    # Back on the real clock: the window restarts instead of waiting 1000 s.
    resumed = [feed(estimator, 0.3 + 0.1 * k, 0.0) for k in range(4)]
    assert all(sample is not None for sample in resumed)
    assert resumed[0].window_states is None and resumed[-1].window_states is not None


def test_a_clock_jumping_back_restarts_the_window_and_forgets_later_commands():
    estimator = StateEstimator(MILLIROBOT, control_dt=0.1, window=2, stale_timeout_s=0.5)
    for k in range(5):
        feed(estimator, 10.0 + 0.1 * k, 0.0, command=[5.0, 5.0])
    sample = feed(estimator, 1.0, 0.0)                         # a restarted simulator
    assert sample is not None and sample.closed_action is None
    assert estimator.commands.at(20.0).tolist() == [0.0, 0.0]  # no command from "later"
