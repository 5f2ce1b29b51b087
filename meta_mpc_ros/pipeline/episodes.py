"""
Run one episode of a policy in an environment and keep everything it shows.

Used by collection (trajectories for training), evaluation (costs, prediction errors,
timings) and the demo. A condition switch mid-episode splits the trajectory into two
tasks, so no training window crosses it.

The prediction error of an adaptive agent at step s is the model's normalised
one-step MSE over the K transitions that follow s: once with theta* ("before
adaptation") and once with the model adapted at s ("after"), the paper's measure of
whether adaptation helps. It is a one-step error: every transition is predicted from
the true state before it.

What the planner needs is the model over its whole horizon: the open-loop error of an
agent at step s rolls the model adapted at s out from the true state at s over the H
actions executed after it (as the planner rolls out a candidate), and compares the
prediction with the states reached: the position error (m) and the heading error (rad)
at the horizon, and the normalised squared error over the rollout (the units of the
one-step error, averaged over the H predictions and the state entries).
"""

from collections import deque
from dataclasses import dataclass, field
import time

from meta_mpc_ros.core.adapters import Adapted, Window
from meta_mpc_ros.core.dataset import Trajectory
from meta_mpc_ros.core.session import rollout_errors
from meta_mpc_ros.pipeline.agents import AdaptiveAgent
import numpy as np


@dataclass
class Episode:
    """Arrays of one episode: T steps, states (T+1, nx), actions (T, nu)."""

    states: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    costs: list = field(default_factory=list)
    infos: list = field(default_factory=list)
    step_ms: list = field(default_factory=list)
    frames: list = field(default_factory=list)
    error_before: list = field(default_factory=list)
    error_after: list = field(default_factory=list)
    horizon_errors: list = field(default_factory=list)
    conditions: list = field(default_factory=list)
    switch_step: int = None

    @property
    def steps(self):
        """Return T."""
        return len(self.actions)

    def trajectories(self):
        """Return one Trajectory per condition segment, labelled with its condition."""
        states, actions = np.array(self.states), np.array(self.actions)
        cuts = [0] + [t for t in range(1, self.steps)
                      if self.conditions[t] != self.conditions[t - 1]] + [self.steps]
        return [Trajectory(states[a:b + 1], actions[a:b], self.conditions[a])
                for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def check_switch(switch):
    """Raise ValueError unless `switch` is None or a (step >= 0, condition spec) pair."""
    if switch is not None and (len(switch) != 2 or switch[0] < 0):
        raise ValueError(f'switch must be a (step >= 0, condition spec) pair, not {switch!r}')


@dataclass(frozen=True, kw_only=True)
class EpisodeRequest:
    """
    One episode for `run_episode` to run.

    :param env: a registry environment.
    :param policy: RandomPolicy or AdaptiveAgent (reset/act/observe).
    :param seed: reset seed.
    :param steps: step limit (None: until the env ends the episode).
    :param options: reset options (task, condition).
    :param switch: optional (step, condition spec): change the world at that step.
    :param record_frames: keep rendered frames (every `frame_every` steps).
    :param frame_every: with `record_frames`, keep every `frame_every`-th frame.
    :param prediction_horizon: K for the one-step prediction error over the next K
        transitions (0: not measured).
    :param rollout_horizon: H for the open-loop error over the planner's horizon
        (0: not measured).
    :param until_done: stop when the task ends (path finished, episode truncated);
        collection runs the full `steps` instead, stopping only if the robot falls.
    """

    env: object
    policy: object
    seed: int
    steps: int = None
    options: dict = None
    switch: tuple = None
    record_frames: bool = False
    frame_every: int = 1
    prediction_horizon: int = 0
    rollout_horizon: int = 0
    until_done: bool = True

    def __post_init__(self):
        if self.steps is not None and self.steps < 0:
            raise ValueError(f'steps must be None or >= 0, not {self.steps}')
        if self.frame_every < 1 or min(self.prediction_horizon, self.rollout_horizon) < 0:
            raise ValueError('frame_every must be >= 1, prediction_horizon and '
                             'rollout_horizon >= 0')
        check_switch(self.switch)


def run_episode(request):
    """
    Run a policy for one episode.

    :param request: EpisodeRequest.
    :return: Episode
    """
    env, policy, switch = request.env, request.policy, request.switch
    state, _ = env.reset(seed=request.seed, options=request.options)
    policy.reset(env)
    episode = Episode(states=[state])
    horizons = (request.prediction_horizon, request.rollout_horizon)
    measure = max(horizons) > 0 and isinstance(policy, AdaptiveAgent)
    pending = deque()
    limit = request.steps if request.steps is not None else 10 ** 9
    for t in range(limit):
        if switch is not None and t == switch[0]:
            env.set_condition(switch[1])
            episode.switch_step = t
        condition = env.condition
        start = time.perf_counter()
        action = policy.act(state, t * env.control_dt)
        episode.step_ms.append((time.perf_counter() - start) * 1e3)
        if measure:
            pending.append((t, policy.adapted))
        next_state, reward, terminated, truncated, info = env.step(action)
        policy.observe(state, action, next_state)
        episode.states.append(next_state)
        episode.actions.append(np.asarray(action, dtype=np.float64))
        episode.costs.append(-reward)
        episode.infos.append(info)
        episode.conditions.append(condition)
        if request.record_frames and t % request.frame_every == 0:
            episode.frames.append(env.render())
        if measure:
            _score_pending(policy, episode, pending, t, *horizons)
        state = next_state
        if info.get('fallen') or (request.until_done and (terminated or truncated)):
            break
    return episode


def _score_pending(agent, episode, pending, t, horizon, rollout):
    """Score every pending model whose K (or H) transitions after it ended at step t."""
    for start, adapted in pending:
        seen = t - start + 1
        if seen == horizon:
            _score_prediction(agent, episode, start, adapted)
        if seen == rollout:
            _score_rollout(agent, episode, start, adapted)
    while pending and t - pending[0][0] + 1 >= max(horizon, rollout):
        pending.popleft()


def _score_rollout(agent, episode, start, adapted):
    """Score the model adapted at `start` open loop over the H executed actions after it."""
    reached = Window.from_arrays(np.array(episode.states[start:]),
                                 np.array(episode.actions[start:]), agent.device)
    if adapted is None:     # nothing adapted yet: the controller plans with theta*
        adapted = Adapted(agent.meta_params, agent.meta_context)
    scores = rollout_errors(agent.model, adapted, reached.states, reached.actions,
                            agent.checkpoint.state_spec.names)
    episode.horizon_errors.append((start, scores))


def _score_prediction(agent, episode, start, adapted):
    """Score theta* and the model adapted at `start` on the K transitions after it."""
    states = np.array(episode.states[start:])
    actions = np.array(episode.actions[start:])
    future = Window.from_arrays(states, actions, agent.device)
    before, after = agent.session.errors(adapted, future.states, future.actions)
    episode.error_before.append((start, before))
    episode.error_after.append((start, after))
