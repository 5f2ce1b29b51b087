"""
Trajectories grouped by task, and the M-past / K-future windows drawn from them.

A `Trajectory` is one uninterrupted run under one task (condition): states (T+1, nx)
and actions (T, nu), where actions[t] moves states[t] to states[t+1]. Windows are
cut inside a single trajectory, so none ever crosses a task boundary. The dataset is
saved as one .npz file (no pickle), the format shared by in-process collection and by
datasets rebuilt from rosbags.
"""

from dataclasses import dataclass
import hashlib
import json
import pathlib

import numpy as np
import torch

DATASET_FORMAT = 'meta_mpc_ros.dataset'
DATASET_VERSION = 1


@dataclass
class Trajectory:
    """One run under one task: states (T+1, nx), actions (T, nu), and the task label."""

    states: np.ndarray
    actions: np.ndarray
    task: str

    def __post_init__(self):
        self.states = np.asarray(self.states, dtype=np.float32)
        self.actions = np.asarray(self.actions, dtype=np.float32)
        if self.states.ndim != 2 or self.actions.ndim != 2:
            raise ValueError('states must be (T+1, nx) and actions (T, nu)')
        if len(self.states) != len(self.actions) + 1:
            raise ValueError(f'{len(self.states)} states need {len(self.states) - 1} actions')
        if not (np.isfinite(self.states).all() and np.isfinite(self.actions).all()):
            raise ValueError(f'trajectory of task {self.task!r} contains NaN or inf')

    @property
    def steps(self):
        """Return T, the number of transitions."""
        return len(self.actions)


def trajectory_key(trajectory, seed):
    """Return a number in [0, 1) fixed by the trajectory's content and `seed`."""
    digest = hashlib.blake2b(int(seed).to_bytes(8, 'little', signed=True), digest_size=8)
    digest.update(trajectory.states[0].tobytes())
    digest.update(trajectory.actions.tobytes())
    return int.from_bytes(digest.digest(), 'little') / 2.0 ** 64


class TrajectoryDataset:
    """
    A list of trajectories with the names of their state and action entries.

    :param trajectories: list of Trajectory with equal nx and nu.
    :param metadata: JSON-serialisable dict (robot, state/action specs, provenance).
    """

    def __init__(self, trajectories, metadata=None):
        self.trajectories = [t for t in trajectories if t.steps > 0]
        self.metadata = dict(metadata or {})
        dims = {(t.states.shape[1], t.actions.shape[1]) for t in self.trajectories}
        if len(dims) > 1:
            raise ValueError(f'trajectories disagree on (nx, nu): {sorted(dims)}')

    def __len__(self):
        """Return the number of trajectories."""
        return len(self.trajectories)

    @property
    def steps(self):
        """Return the total number of transitions."""
        return sum(t.steps for t in self.trajectories)

    @property
    def tasks(self):
        """Return the sorted task labels."""
        return sorted({t.task for t in self.trajectories})

    def transitions(self):
        """Return (states, actions, next_states), each (N, dim) float32 arrays."""
        if not self.trajectories:
            raise ValueError('empty dataset')
        return (np.concatenate([t.states[:-1] for t in self.trajectories]),
                np.concatenate([t.actions for t in self.trajectories]),
                np.concatenate([t.states[1:] for t in self.trajectories]))

    def split(self, validation_fraction, seed, min_steps=1):
        """
        Split into (train, validation) by whole trajectories, the same way every time.

        A trajectory is held out when a hash of its content and `seed`, read as a number
        in [0, 1), is below `validation_fraction`. Its place never depends on the other
        trajectories, so when Algorithm 1 adds a round's data no trajectory trained on
        in an earlier round turns up in validation, and every method trained on the
        same data (GrBAL's rounds, MB, ReBAL, continual) is judged on the same
        trajectories. Their tasks are mostly unseen in training (the meta-learning
        question). The held-out share of transitions is `validation_fraction` on
        average; each side keeps at least one trajectory. A dataset of one trajectory,
        one whose held-out side would outweigh its training side, or one where a side
        would hold no trajectory of `min_steps`, has its longest trajectory cut in time
        instead.

        :param validation_fraction: share of trajectories held out, in (0, 1).
        :param seed: int mixed into the hash.
        :param min_steps: transitions a window needs: each side keeps a trajectory this
            long, and a cut-off tail as many, where the data is long enough for that.
        """
        if not self.trajectories:
            raise ValueError('cannot split an empty dataset')
        if len(self.trajectories) == 1:
            return self._cut_in_time(0, validation_fraction, min_steps)
        keys = [trajectory_key(run, seed) for run in self.trajectories]
        held = [key < validation_fraction for key in keys]
        if not any(held):
            held[keys.index(min(keys))] = True
        if all(held):
            held[keys.index(max(keys))] = False
        steps = [run.steps for run in self.trajectories]
        windowed = [any(n >= min_steps for n, out in zip(steps, held) if out == side)
                    for side in (False, True)]
        if 2 * sum(n for n, out in zip(steps, held) if out) > self.steps or not all(windowed):
            # Validation would be the larger side (a long recording beside short pieces),
            # or one side would hold no trajectory of min_steps: cut the longest
            # trajectory in time instead.
            return self._cut_in_time(steps.index(max(steps)), validation_fraction, min_steps)
        return (TrajectoryDataset([run for run, out in zip(self.trajectories, held)
                                   if not out], self.metadata),
                TrajectoryDataset([run for run, out in zip(self.trajectories, held) if out],
                                  self.metadata))

    def _cut_in_time(self, index, validation_fraction, min_steps):
        """Return (train, validation): trajectory `index` cut in time, its tail held out."""
        run = self.trajectories[index]
        others = self.trajectories[:index] + self.trajectories[index + 1:]
        # The head stays in training: it must hold a whole window itself only when no
        # other trajectory does (three 40-step episodes and a 32-step window: the tail
        # keeps 32, training the head's 8 beside two whole episodes).
        head = 1 if any(other.steps >= min_steps for other in others) else min_steps
        cut = int(round(run.steps * (1.0 - validation_fraction)))
        if run.steps >= head + min_steps:
            cut = min(cut, run.steps - min_steps)
        cut = max(1, cut)
        return (TrajectoryDataset(others + [Trajectory(run.states[:cut + 1], run.actions[:cut],
                                                       run.task)], self.metadata),
                TrajectoryDataset([Trajectory(run.states[cut:], run.actions[cut:], run.task)],
                                  self.metadata))

    def save(self, path):
        """Write the dataset to an .npz file."""
        if not self.trajectories:
            raise ValueError('refusing to save an empty dataset')
        lengths = np.array([t.steps for t in self.trajectories], dtype=np.int64)
        header = {'format': DATASET_FORMAT, 'version': DATASET_VERSION,
                  'metadata': self.metadata}
        np.savez_compressed(
            path, header=np.array(json.dumps(header)), lengths=lengths,
            tasks=np.array([t.task for t in self.trajectories]),
            states=np.concatenate([t.states for t in self.trajectories]),
            actions=np.concatenate([t.actions for t in self.trajectories]))

    @classmethod
    def load(cls, path):
        """Read a dataset written by `save`; raise ValueError naming the file if invalid."""
        path = pathlib.Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data['header']))
                lengths, tasks = data['lengths'], data['tasks']
                states, actions = data['states'], data['actions']
        except (OSError, KeyError, ValueError, json.JSONDecodeError) as error:
            raise ValueError(f'{path}: not a readable meta_mpc_ros dataset ({error})') from None
        if header.get('format') != DATASET_FORMAT or header.get('version') != DATASET_VERSION:
            raise ValueError(f'{path}: unknown dataset format/version {header.get("format")} '
                             f'{header.get("version")}')
        if states.shape[0] != int(lengths.sum()) + len(lengths) or \
                actions.shape[0] != int(lengths.sum()):
            raise ValueError(f'{path}: array sizes disagree with trajectory lengths')
        trajectories = []
        state_start = action_start = 0
        for length, task in zip(lengths, tasks):
            trajectories.append(Trajectory(states[state_start:state_start + length + 1],
                                           actions[action_start:action_start + length],
                                           str(task)))
            state_start += length + 1
            action_start += length
        return cls(trajectories, header.get('metadata'))


HISTORY_LENGTHS = ('full', 'all')


@dataclass
class WindowBatch:
    """
    B windows of M past and K future transitions (float32 tensors).

    `history` (B,) int64, or None for all M: how many of its last past transitions each
    window's history holds for a recurrent encoder (ReBAL), from 0 to M.
    """

    states: torch.Tensor   # (B, M+K+1, nx)
    actions: torch.Tensor  # (B, M+K, nu)
    past_steps: int
    history: torch.Tensor = None

    @property
    def past_states(self):
        """Return (B, M+1, nx)."""
        return self.states[:, :self.past_steps + 1]

    @property
    def past_actions(self):
        """Return (B, M, nu)."""
        return self.actions[:, :self.past_steps]

    @property
    def future_states(self):
        """Return (B, K+1, nx): the last past state, then K future ones."""
        return self.states[:, self.past_steps:]

    @property
    def future_actions(self):
        """Return (B, K, nu)."""
        return self.actions[:, self.past_steps:]

    def to(self, device):
        """Return the batch on another device."""
        history = None if self.history is None else self.history.to(device)
        return WindowBatch(self.states.to(device), self.actions.to(device), self.past_steps,
                           history)


class WindowSampler:
    """
    Draw windows of M past and K future transitions from within single trajectories.

    :param dataset: TrajectoryDataset.
    :param past_steps: M (the adaptation window).
    :param future_steps: K (the transitions the adapted model is scored on).
    :param history_lengths: 'full' (every history holds all M past transitions) or
        'all' (each window's history length is drawn uniformly from 0 to M, as an
        episode's first steps have them).
    """

    def __init__(self, dataset, past_steps, future_steps, history_lengths='full'):
        if past_steps < 1 or future_steps < 1:
            raise ValueError('past_steps and future_steps must be >= 1')
        if history_lengths not in HISTORY_LENGTHS:
            raise ValueError(f'history_lengths must be one of {HISTORY_LENGTHS}')
        self.history_lengths = history_lengths
        self.past_steps = past_steps
        self.future_steps = future_steps
        span = past_steps + future_steps
        starts = [(i, t) for i, run in enumerate(dataset.trajectories)
                  for t in range(run.steps - span + 1)]
        if not starts:
            raise ValueError(f'no trajectory has the {span} transitions a window needs')
        self.starts = np.array(starts, dtype=np.int64)
        self.states = [torch.from_numpy(run.states) for run in dataset.trajectories]
        self.actions = [torch.from_numpy(run.actions) for run in dataset.trajectories]

    def __len__(self):
        """Return the number of distinct windows."""
        return len(self.starts)

    def batch(self, indices, generator=None):
        """
        Return the WindowBatch of the given window indices.

        :param generator: torch.Generator that draws the history lengths (needed when
            history_lengths is 'all').
        """
        span = self.past_steps + self.future_steps
        states, actions = [], []
        for run, start in self.starts[np.asarray(indices)]:
            states.append(self.states[run][start:start + span + 1])
            actions.append(self.actions[run][start:start + span])
        history = None
        if self.history_lengths == 'all':
            history = torch.randint(self.past_steps + 1, (len(states),), generator=generator)
        return WindowBatch(torch.stack(states), torch.stack(actions), self.past_steps,
                           history)

    def sample(self, batch_size, generator):
        """Return a WindowBatch of `batch_size` windows drawn with a torch.Generator."""
        return self.batch(torch.randint(len(self.starts), (batch_size,),
                                        generator=generator).numpy(), generator)
