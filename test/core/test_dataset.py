"""Trajectory datasets and their windows."""

from meta_mpc_ros.core.dataset import Trajectory, TrajectoryDataset, WindowSampler
import numpy as np
import pytest
import torch


def labelled(task, start, steps):
    """Return a trajectory whose state entry 1 is a task id, so mixing tasks would show."""
    states = np.stack([np.arange(start, start + steps + 1), np.full(steps + 1, task)], 1)
    return Trajectory(states, np.zeros((steps, 1)), task=f'task{task}')


def test_windows_never_cross_a_task_boundary():
    dataset = TrajectoryDataset([labelled(0, 0, 40), labelled(1, 100, 7),
                                 labelled(2, 200, 33)])
    sampler = WindowSampler(dataset, past_steps=4, future_steps=4)
    # Windows need 8 transitions: 40 - 8 + 1 = 33 and 33 - 8 + 1 = 26; the 7-step run has none.
    assert len(sampler) == 33 + 26
    batch = sampler.batch(np.arange(len(sampler)))
    assert batch.states.shape == (59, 9, 2)
    assert (batch.states[:, :, 1] == batch.states[:, :1, 1]).all()       # one task each
    assert (batch.states[:, 1:, 0] - batch.states[:, :-1, 0] == 1).all()  # contiguous
    sample = sampler.sample(16, torch.Generator().manual_seed(0))
    assert (sample.states[:, :, 1] == sample.states[:, :1, 1]).all()


def test_past_and_future_split():
    sampler = WindowSampler(TrajectoryDataset([labelled(0, 0, 10)]), 3, 2)
    batch = sampler.batch([0])
    assert batch.past_states[0, :, 0].tolist() == [0, 1, 2, 3]
    assert batch.future_states[0, :, 0].tolist() == [3, 4, 5]
    assert batch.future_actions.shape == (1, 2, 1)


def test_save_and_load_round_trip(tmp_path):
    dataset = TrajectoryDataset([labelled(0, 0, 5), labelled(1, 50, 3)], {'robot': 'r'})
    dataset.save(tmp_path / 'data.npz')
    loaded = TrajectoryDataset.load(tmp_path / 'data.npz')
    assert loaded.metadata == {'robot': 'r'}
    assert [t.task for t in loaded.trajectories] == ['task0', 'task1']
    for a, b in zip(dataset.trajectories, loaded.trajectories):
        assert np.array_equal(a.states, b.states) and np.array_equal(a.actions, b.actions)


def test_corrupt_dataset_names_the_file(tmp_path):
    path = tmp_path / 'broken.npz'
    path.write_bytes(b'not a zip file at all')
    with pytest.raises(ValueError, match='broken.npz'):
        TrajectoryDataset.load(path)


def test_split_is_by_whole_trajectories_and_seeded():
    runs = [labelled(task, 10 * i, 20) for task in range(4) for i in range(100)]
    dataset = TrajectoryDataset(runs)
    train, validation = dataset.split(0.2, seed=0)
    assert len(train) + len(validation) == 400
    assert {id(t) for t in train.trajectories}.isdisjoint(id(t) for t in validation.trajectories)
    # About a fifth is held out (binomial: 80 expected, standard deviation 8).
    assert 50 <= len(validation) <= 110
    again, _ = dataset.split(0.2, seed=0)
    assert [t.states[0, 0] for t in train.trajectories] == \
        [t.states[0, 0] for t in again.trajectories]
    other, _ = dataset.split(0.2, seed=1)
    assert {id(t) for t in other.trajectories} != {id(t) for t in train.trajectories}


def test_a_trajectory_keeps_its_side_when_data_is_added():
    """Algorithm 1 adds data every round: nothing trained on may become validation."""
    first = [labelled(0, 10 * i, 20) for i in range(30)]
    added = [labelled(1, 10 * i, 20) for i in range(60)]
    _, validation = TrajectoryDataset(first).split(0.2, seed=0)
    train_after, validation_after = TrajectoryDataset(first + added).split(0.2, seed=0)
    held = {id(t) for t in validation.trajectories}
    assert held == {id(t) for t in validation_after.trajectories if id(t) in
                    {id(run) for run in first}}
    assert held.isdisjoint(id(t) for t in train_after.trajectories)
    # A copy of a trajectory (a dataset saved and loaded again) lands on the same side.
    copies = [labelled(0, 10 * i, 20) for i in range(30)]
    _, copied = TrajectoryDataset(copies).split(0.2, seed=0)
    assert sorted(t.states[0, 0] for t in copied.trajectories) == \
        sorted(t.states[0, 0] for t in validation.trajectories)


def test_both_sides_keep_a_trajectory():
    for count in (2, 3):
        train, validation = TrajectoryDataset(
            [labelled(0, 10 * i, 20) for i in range(count)]).split(0.01, seed=0)
        assert len(validation) == 1 and len(train) == count - 1
        train, validation = TrajectoryDataset(
            [labelled(0, 10 * i, 20) for i in range(count)]).split(0.99, seed=0)
        assert len(train) >= 1 and len(validation) >= 1


def test_a_single_trajectory_is_cut_in_time():
    train, validation = TrajectoryDataset([labelled(0, 0, 50)]).split(0.2, seed=0)
    assert train.steps == 40 and validation.steps == 10
    assert validation.trajectories[0].states[0, 0] == train.trajectories[0].states[-1, 0]


def test_bad_trajectories_are_rejected():
    with pytest.raises(ValueError, match='NaN'):
        Trajectory(np.array([[0.0], [np.nan]]), np.zeros((1, 1)), 'x')
    with pytest.raises(ValueError, match='actions'):
        Trajectory(np.zeros((3, 1)), np.zeros((3, 1)), 'x')


def test_a_long_recording_beside_a_short_piece_is_cut_in_time():
    rng = np.random.default_rng(0)
    long = Trajectory(rng.normal(size=(201, 3)), rng.normal(size=(200, 2)), 'a')
    short = Trajectory(rng.normal(size=(2, 3)), rng.normal(size=(1, 2)), 'a')
    for seed in range(20):
        train, validation = TrajectoryDataset([long, short], {}).split(0.1, seed)
        # Training keeps the larger side whichever trajectory the hash would hold out.
        assert train.steps > validation.steps >= 1
        assert train.steps + validation.steps == 201
    # A cut-off tail keeps a whole training window when asked to.
    assert TrajectoryDataset([long], {}).split(0.1, 0, min_steps=32)[1].steps == 32


def test_each_side_keeps_a_whole_window():
    # Short pieces beside one long recording (a bag split at label changes): whichever
    # pieces the hash holds out, both sides keep a trajectory a 16-step window fits in.
    rng = np.random.default_rng(1)
    long = Trajectory(rng.normal(size=(121, 3)), rng.normal(size=(120, 2)), 'a')
    pieces = [Trajectory(rng.normal(size=(6, 3)), rng.normal(size=(5, 2)), f'p{i}')
              for i in range(12)]
    for seed in range(30):
        train, validation = TrajectoryDataset([long] + pieces, {}).split(0.3, seed, 16)
        for side in (train, validation):
            assert max(run.steps for run in side.trajectories) >= 16
            WindowSampler(side, 8, 8)
        assert train.steps + validation.steps == long.steps + 5 * len(pieces)


def test_equal_episodes_cut_in_time_keep_a_window_on_each_side():
    # Three 40-step episodes and a 32-step window (the legged smoke budget's round 1):
    # where the hash holds out two of them (80 > 120 / 2), the longest is cut in time.
    # The other two give training its windows, so the tail keeps a whole window: 32
    # held out, 8 + 40 + 40 trained on (a 10 % cut would leave a 4-step tail).
    rng = np.random.default_rng(2)
    episodes = [Trajectory(rng.normal(size=(41, 3)), rng.normal(size=(40, 2)), 'a')
                for _ in range(3)]
    cut = 0
    for seed in range(200):
        train, validation = TrajectoryDataset(episodes, {}).split(0.1, seed, 32)
        for side in (train, validation):
            WindowSampler(side, 16, 16)
        assert train.steps + validation.steps == 120
        cut += validation.steps == 32
    assert cut > 0  # the cut-in-time branch was reached
