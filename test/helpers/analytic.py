"""
Analytic systems for the core's tests.

A point mass whose actuator gain, bias and friction vary by task:

    v_{t+1} = v_t + dt * (gain * u_t + bias - friction * v_t)
    x_{t+1} = x_t + dt * v_{t+1}

State (x, v); action u in [-1, 1]. The model does not see x (it is excluded from the
input), as for the robots.
"""

from meta_mpc_ros.core.dataset import Trajectory, TrajectoryDataset
from meta_mpc_ros.core.spaces import ActionSpec, StateSpec
import numpy as np

STATE = StateSpec(('x', 'v'), ('m', 'm/s'), model_input_excluded=('x',))
ACTION = ActionSpec(('u',), ('1',), (-1.0,), (1.0,))
DT = 0.1


def step(state, action, task):
    """Advance one (2,) state with a (1,) action under task (gain, bias, friction)."""
    gain, bias, friction = task
    velocity = state[1] + DT * (gain * action[0] + bias - friction * state[1])
    return np.array([state[0] + DT * velocity, velocity])


def sample_task(rng):
    """Draw (gain, bias, friction) from the training distribution."""
    return (rng.uniform(0.5, 2.0), rng.uniform(-1.0, 1.0), rng.uniform(0.0, 1.0))


def rollout(task, steps, rng):
    """Return a Trajectory of random actions under one task."""
    states = [np.array([0.0, rng.uniform(-1.0, 1.0)])]
    actions = rng.uniform(-1.0, 1.0, size=(steps, 1))
    for action in actions:
        states.append(step(states[-1], action, task))
    return Trajectory(np.array(states), actions, task='gain=%.2f,bias=%.2f,friction=%.2f' % task)


def make_dataset(tasks, steps, rng):
    """Return a TrajectoryDataset with one trajectory per task."""
    return TrajectoryDataset([rollout(task, steps, rng) for task in tasks],
                             {'robot': 'point_mass'})


def training_split(tasks=60, steps=200, validation_tasks=10, seed=0):
    """Return (train, validation) datasets of tasks drawn from the training distribution."""
    rng = np.random.default_rng(seed)
    train = make_dataset([sample_task(rng) for _ in range(tasks)], steps, rng)
    validation = make_dataset([sample_task(rng) for _ in range(validation_tasks)], steps, rng)
    return train, validation
