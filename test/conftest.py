"""Shared fixtures: DDS isolation for every process a test starts."""

import importlib.util
import os
import pathlib
import random
import sys

import pytest

_RANDOM = random.SystemRandom()

# Tests import the installed package (make test installs it into .venv); processes
# they start must find the same interpreter and keep DDS on loopback.
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('ROS_LOCALHOST_ONLY', '1')
os.environ.setdefault('ROS_DOMAIN_ID', str(_RANDOM.randint(1, 100)))
os.environ.setdefault('MUJOCO_GL', 'egl')


def fresh_domain_id():
    """Return a DDS domain id for one test, different from the run's own."""
    taken = int(os.environ['ROS_DOMAIN_ID'])
    return _RANDOM.choice([domain for domain in range(1, 101) if domain != taken])


def _ros_env():
    env = dict(os.environ)
    env['ROS_DOMAIN_ID'] = str(fresh_domain_id())
    env['PYTHONUNBUFFERED'] = '1'
    return env


@pytest.fixture
def ros_env():
    """Environment for processes of one test: loopback DDS in a domain of its own."""
    return _ros_env()


@pytest.fixture(scope='module')
def module_ros_env():
    """Environment for processes shared by one test module, in a domain of its own."""
    return _ros_env()


@pytest.fixture(scope='session')
def ros_probe_class():
    """Return the RosProbe class of test/helpers/launch_probe.py (not a package)."""
    path = pathlib.Path(__file__).resolve().parent / 'helpers' / 'launch_probe.py'
    spec = importlib.util.spec_from_file_location('launch_probe', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RosProbe


@pytest.fixture
def python():
    """Path of the interpreter running the tests (the .venv one under make test)."""
    return sys.executable


@pytest.fixture(scope='session')
def tiny_models(tmp_path_factory):
    """
    Millirobot checkpoints (mb, grbal, rebal, continual) trained in seconds on random data.

    Small (2 x 64) and briefly trained: good enough to drive the robot along a path for
    the system tests, not for results. Returns a dict method -> checkpoint path, plus
    'data' -> the dataset file.
    """
    import dataclasses

    from meta_mpc_ros.pipeline.collect import collect, CollectRequest
    from meta_mpc_ros.pipeline.config import load_robot_config
    from meta_mpc_ros.pipeline.train import train, TrainRequest

    folder = tmp_path_factory.mktemp('tiny_models')
    config = load_robot_config('millirobot')
    config = dataclasses.replace(
        config, model=dataclasses.replace(config.model, hidden_sizes=(64, 64), context_dim=8),
        training=dataclasses.replace(config.training, iterations=150, eval_every=50,
                                     validation_windows=64))
    dataset = collect(CollectRequest(robot_config=config, episodes=12, seed=0, workers=1))
    paths = {'data': folder / 'random.npz'}
    dataset.save(paths['data'])
    for method in ('mb', 'grbal', 'rebal'):
        paths[method] = folder / f'{method}.pt'
        train(TrainRequest(robot_config=config, method=method, dataset=dataset,
                           out=paths[method], progress=False))
    paths['continual'] = folder / 'continual.pt'
    train(TrainRequest(robot_config=config, method='continual', dataset=dataset,
                       out=paths['continual'], warm_start=paths['grbal'], iterations=50,
                       progress=False))
    return paths
