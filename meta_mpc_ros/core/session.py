"""
An adaptation session: one adapter stepped over the windows of one run, as it runs online.

The adaptive-dynamics node, the in-process agent and the results all step adapters
through this class, so that every method is scored the way it runs in closed loop:
GrBAL and ReBAL restart from theta* at every window; MB+DE and continual carry their
parameters from window to window until `reset()` (a new episode), with whatever
state they hand themselves (Adapted.state, passed back as `adapt(..., state=...)`).
"""

import math

from meta_mpc_ros.core.adapters import Window, window_loss
import torch


class AdaptationSession:
    """
    Step an adapter over consecutive windows, carrying its parameters where it does.

    :param model: DynamicsModel.
    :param adapter: an adapter of core.adapters.
    :param meta_params: theta*, name -> tensor (the object the adapter was built with).
    """

    def __init__(self, model, adapter, meta_params):
        self.model = model
        self.adapter = adapter
        self.meta_params = meta_params
        self.current_params = meta_params
        self.current_state = None
        self.resets = 0

    def null_context(self):
        """Return ReBAL's 'no history read' context (zeros), or None for other models."""
        return self.model.null_context(self.model.input_mean.device)

    def reset(self):
        """Start over from theta* (a new episode)."""
        self.current_params = self.meta_params
        self.current_state = None

    def step(self, window):
        """
        Adapt on the newest window.

        :param window: core.adapters.Window of the last M transitions.
        :return: core.adapters.Adapted.
        :raises ValueError: if the adapted model is not finite (carried parameters are
            dropped: the next window starts from theta*).
        """
        start = self.meta_params if self.adapter.restarts_from_meta else self.current_params
        carried = {} if self.current_state is None else {'state': self.current_state}
        adapted = self.adapter.adapt(self.model, start, window, **carried)
        tensors = list(adapted.params.values()) + [adapted.context]
        if not all(bool(torch.isfinite(value).all()) for value in tensors if value is not None):
            self.reset()
            raise ValueError('the adapted model is not finite; starting over from theta*')
        if not self.adapter.restarts_from_meta:
            self.current_params = adapted.params
            self.current_state = adapted.state
        self.resets += adapted.reset
        return adapted

    def errors(self, adapted, states, actions):
        """
        Return (before, after): the loss of theta* and of `adapted` on transitions.

        :param adapted: core.adapters.Adapted, or None (nothing adapted yet: after is
            before).
        :param states: (T+1, nx) tensor;  actions: (T, nu).
        """
        scored = Window(states, actions)
        with torch.no_grad():
            before = float(window_loss(self.model, self.meta_params, scored,
                                       self.null_context()))
            if adapted is None:
                return before, before
            after = window_loss(self.model, adapted.params, scored, adapted.context)
        return before, float(after)


def carried_window_errors(session, states, actions, past_steps, future_steps, every=1):
    """
    Step a session over every window of one trajectory and score each on its future.

    Windows start at every step (as online, one per control step); the scores of every
    `every`-th window are kept.

    :param states: (T+1, nx) tensor;  actions: (T, nu).
    :return: (before, after), lists of floats, one per kept window.
    """
    session.reset()
    before, after = [], []
    for start in range(len(actions) - past_steps - future_steps + 1):
        middle = start + past_steps
        adapted = session.step(Window(states[start:middle + 1], actions[start:middle]))
        if start % every:
            continue
        end = middle + future_steps
        error_before, error_after = session.errors(adapted, states[middle:end + 1],
                                                   actions[middle:end])
        before.append(error_before)
        after.append(error_after)
    return before, after


def open_loop_rollout(model, adapted, state, actions):
    """
    Roll a model out open loop from one true state over executed actions, as planned.

    :param adapted: core.adapters.Adapted (the parameters and context to predict with).
    :param state: (nx,) the state the rollout starts from.
    :param actions: (H, nu) the actions executed from there.
    :return: (H, nx) the predicted state after each action.
    """
    context = None if adapted.context is None else adapted.context[None]
    current, predicted = state[None], []
    with torch.no_grad():
        for action in actions:
            current = model.predict(adapted.params, current, action[None], context)
            predicted.append(current[0])
    return torch.stack(predicted)


def rollout_errors(model, adapted, states, actions, names):
    """
    Score a model open loop over H executed actions, as the planner would roll it.

    :param adapted: core.adapters.Adapted (the parameters and context to predict with).
    :param states: (H+1, nx) tensor: the true state the rollout starts from, then the
        states the actions reached.
    :param actions: (H, nu) tensor of the executed actions.
    :param names: the state's entry names (core.spaces.StateSpec.names).
    :return: dict: 'state_nmse' (the mean squared error over the H predicted states,
        per entry in units of the model's delta std), and, where the state has them,
        'position_m' (the distance between the predicted and the reached (x, y) after H
        steps) and 'heading_rad' (the absolute heading error then, from cos/sin_yaw).
    """
    predicted = open_loop_rollout(model, adapted, states[0], actions)
    error = predicted - states[1:]
    scores = {'state_nmse': float((error / model.delta_std).pow(2).mean())}
    if 'x' in names and 'y' in names:
        position = [names.index('x'), names.index('y')]
        scores['position_m'] = float(error[-1, position].norm())
    if 'cos_yaw' in names and 'sin_yaw' in names:
        cos, sin = names.index('cos_yaw'), names.index('sin_yaw')
        turn = predicted[-1, sin] * states[-1, cos] - predicted[-1, cos] * states[-1, sin]
        along = predicted[-1, cos] * states[-1, cos] + predicted[-1, sin] * states[-1, sin]
        scores['heading_rad'] = abs(math.atan2(float(turn), float(along)))
    return scores
