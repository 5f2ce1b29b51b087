"""
The model-free baselines of section 4: PPO (stable-baselines3) and TRPO (sb3-contrib).

`TrainingTasks` wraps a legged environment: every reset draws a condition from the
family's training distribution (`sample_training_condition`, a seeded Generator), and
observations leave out the entries the dynamics model does not see either (the absolute
x, y position, which grows without bound). PPO trains on a few such environments with
observation and reward normalisation (`VecNormalize`, as rl-baselines3-zoo does for the
MuJoCo tasks) and otherwise the library's defaults; TRPO (sb3-contrib) trains the
same way. At chosen step counts a
callback runs the deterministic policy on a held-out test task with fixed seeds (those
of `pipeline.evaluate`) and records the return, the same sum of rewards over the same
number of steps as the model-based evaluation.
"""

import gymnasium
from meta_mpc_ros.sim.registry import environment_class, make_env
import numpy as np


class TrainingTasks(gymnasium.Wrapper):
    """
    A new training task at every reset; observations without the unbounded positions.

    :param env: a legged registry environment.
    :param rng: numpy Generator that draws the tasks.
    """

    def __init__(self, env, rng):
        super().__init__(env)
        self.rng = rng
        self.indices = np.array(env.unwrapped.state_spec.model_input_indices)
        self.sample = environment_class_of(env).sample_training_condition
        self.observation_space = gymnasium.spaces.Box(
            -np.inf, np.inf, shape=(len(self.indices),), dtype=np.float64)

    def reset(self, *, seed=None, options=None):
        """Draw a training task, then reset; return (observation, info)."""
        options = dict(options or {}, condition=self.sample(self.rng))
        state, info = self.env.reset(seed=seed, options=options)
        return state[self.indices], info

    def step(self, action):
        """Step and drop the unobserved entries."""
        state, reward, terminated, truncated, info = self.env.step(action)
        return state[self.indices], reward, terminated, truncated, info


def environment_class_of(env):
    """Return the registry class of a (possibly wrapped) environment."""
    return type(env.unwrapped)


def held_out_returns(policy, normalize, family, task, episodes, steps, seed):
    """
    Run the deterministic policy on a test task with `pipeline.evaluate`'s seeds.

    :param policy: a stable-baselines3 model (its `predict`).
    :param normalize: callable applied to observations (VecNormalize.normalize_obs).
    :return: list of returns (sums of rewards over `steps` steps).
    """
    env = make_env(family, condition=task, max_episode_steps=None)
    indices = np.array(env.state_spec.model_input_indices)
    returns = []
    try:
        for episode_seed in np.random.SeedSequence(seed).generate_state(episodes):
            state, _ = env.reset(seed=int(episode_seed))
            total = 0.0
            for _ in range(steps):
                action, _ = policy.predict(normalize(state[indices][None]), deterministic=True)
                state, reward, _, _, _ = env.step(action[0])
                total += reward
            returns.append(total)
    finally:
        env.close()
    return returns


ALGORITHMS = ('PPO', 'TRPO')


def _algorithm(name):
    """Return the class of a model-free algorithm by name (PPO or TRPO)."""
    if name == 'PPO':
        from stable_baselines3 import PPO
        return PPO
    if name == 'TRPO':
        from sb3_contrib import TRPO
        return TRPO
    raise ValueError(f'algorithm must be one of {ALGORITHMS}, got {name!r}')


def train_model_free_job(job):
    """Grid entry point: train_ppo's arguments as one tuple, algorithm last."""
    return train_ppo(*job)


def train_ppo(family, task, total_steps, evaluate_at, episodes, steps, seed, episode_steps,
              envs=4, ppo_kwargs=None, algorithm='PPO'):
    """
    Train PPO (or TRPO) on the training tasks and measure it on a test task along the way.

    :param family: a legged registry name.
    :param task: the held-out test condition.
    :param total_steps: environment steps of training.
    :param evaluate_at: increasing step counts at which to measure (0: before training).
    :param episodes: test episodes per measurement.
    :param steps: control steps per test episode.
    :param seed: seeds PPO, the training tasks and the test episodes.
    :param episode_steps: length of training episodes (truncated after it).
    :param envs: parallel training environments (in this process).
    :param ppo_kwargs: settings overriding the library's defaults.
    :param algorithm: 'PPO' (stable-baselines3) or 'TRPO' (sb3-contrib).
    :return: list of dicts steps, returns, return_mean, return_std (one per measurement).
    """
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    environment_class(family)   # ValueError for an unknown family, before any work
    seeds = np.random.SeedSequence(seed).spawn(envs)

    def factory(index):
        return lambda: TrainingTasks(make_env(family, max_episode_steps=episode_steps),
                                     np.random.default_rng(seeds[index]))

    vector = VecNormalize(DummyVecEnv([factory(i) for i in range(envs)]))
    vector.seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model = _algorithm(algorithm)('MlpPolicy', vector, seed=seed, device='cpu', verbose=0,
                                  **(ppo_kwargs or {}))
    curve = []

    def measure():
        returns = held_out_returns(model, vector.normalize_obs, family, task, episodes,
                                   steps, seed)
        curve.append({'steps': int(model.num_timesteps), 'returns': returns,
                      'return_mean': float(np.mean(returns)),
                      'return_std': float(np.std(returns))})

    pending = list(evaluate_at)

    class Measure(BaseCallback):
        """Measure on the test task once training passes each step count."""

        def _on_step(self):
            while pending and self.num_timesteps >= pending[0]:
                pending.pop(0)
                measure()
            return True

    try:
        if pending and pending[0] <= 0:
            pending.pop(0)
            measure()
        model.learn(total_steps, callback=Measure())
        if not curve or curve[-1]['steps'] < model.num_timesteps:
            measure()
    finally:
        torch.set_num_threads(threads)
        vector.close()
    return curve
