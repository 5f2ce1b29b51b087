"""
A fixed-memory ring buffer of transitions: the adaptation window's source.

`append(state, action)` stores a state and the action applied *from* it. The window
of the last M complete transitions is states (M+1, nx) and actions (M, nu): the
newest state closes the last transition, and its own action is not part of it.
"""

import numpy as np


class TransitionBuffer:
    """
    Ring buffer of (state, action) pairs with preallocated arrays.

    :param capacity: how many states it keeps (>= M + 1 for a window of M).
    :param state_dim: nx.
    :param action_dim: nu.
    """

    def __init__(self, capacity, state_dim, action_dim):
        if capacity < 2:
            raise ValueError('capacity must be at least 2')
        self.capacity = capacity
        self.states = np.zeros((capacity, state_dim))
        self.actions = np.zeros((capacity, action_dim))
        self.count = 0

    def __len__(self):
        """Return how many states are stored (at most capacity)."""
        return min(self.count, self.capacity)

    def clear(self):
        """Forget everything (e.g. after a gap in the data)."""
        self.count = 0

    def append(self, state, action):
        """
        Store a state and the action applied from it.

        :param state: (nx,) finite values.
        :param action: (nu,) finite values.
        :raises ValueError: on a wrong size or NaN/inf; nothing is stored then.
        """
        state = np.asarray(state, dtype=np.float64)
        action = np.asarray(action, dtype=np.float64)
        if state.shape != self.states.shape[1:] or action.shape != self.actions.shape[1:]:
            raise ValueError(f'expected state {self.states.shape[1:]} and action '
                             f'{self.actions.shape[1:]}, got {state.shape} and {action.shape}')
        if not (np.isfinite(state).all() and np.isfinite(action).all()):
            raise ValueError('transition buffer rejects NaN or inf')
        slot = self.count % self.capacity
        self.states[slot] = state
        self.actions[slot] = action
        self.count += 1

    def set_last_action(self, action):
        """Replace the action of the newest state (once it is known)."""
        action = np.asarray(action, dtype=np.float64)
        if self.count == 0:
            raise ValueError('buffer is empty')
        if action.shape != self.actions.shape[1:] or not np.isfinite(action).all():
            raise ValueError(f'bad action {action}')
        self.actions[(self.count - 1) % self.capacity] = action

    def window(self, size):
        """
        Return the last `size` complete transitions.

        :param size: M (0: the newest state alone).
        :return: (states (M+1, nx), actions (M, nu)) copies, oldest first.
        :raises ValueError: if fewer than M+1 states are stored.
        """
        if not 0 <= size < self.capacity:
            raise ValueError(f'window size must be in [0, {self.capacity - 1}]')
        if len(self) < size + 1:
            raise ValueError(f'need {size + 1} states, have {len(self)}')
        slots = (np.arange(self.count - size - 1, self.count)) % self.capacity
        return self.states[slots].copy(), self.actions[slots[:-1]].copy()
