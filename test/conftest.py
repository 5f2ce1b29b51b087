"""
Shared fixtures: DDS isolation for every process a test starts.

Modules the tests share (analytic systems, probes, listeners) live in test/helpers/,
which this puts on sys.path; no test module imports another.
"""

import os
import pathlib
import sys

from meta_mpc_ros.ros.discovery import isolate_dds, lease_domain
import pytest

HELPERS = pathlib.Path(__file__).resolve().parent / 'helpers'
sys.path.insert(0, str(HELPERS))
# Tests import the installed package (make test installs it into .venv); processes
# they start must find the same interpreter and keep DDS on loopback.
# The discovery variable the distro in use reads, and a domain leased for this run
# (meta_mpc_ros/ros/discovery.py); each test leases another one for its processes.
isolate_dds()


def _ros_env():
    """Return (environment in a leased domain of its own, the lease to close)."""
    domain, lease = lease_domain(exclude=(int(os.environ['ROS_DOMAIN_ID']),))
    env = dict(os.environ)
    env['ROS_DOMAIN_ID'] = str(domain)
    env['PYTHONUNBUFFERED'] = '1'
    return env, lease


@pytest.fixture
def ros_env():
    """Environment for processes of one test: loopback DDS in a domain of its own."""
    env, lease = _ros_env()
    yield env
    lease.close()


@pytest.fixture
def graph_env(ros_env):
    """ros_env with the source tree first on PYTHONPATH, for the graph's node processes."""
    root = pathlib.Path(__file__).resolve().parents[1]
    return dict(ros_env, PYTHONPATH=str(root) + os.pathsep + ros_env.get('PYTHONPATH', ''))


@pytest.fixture(scope='module')
def module_ros_env():
    """Environment for processes shared by one test module, in a domain of its own."""
    env, lease = _ros_env()
    yield env
    lease.close()


@pytest.fixture(scope='session')
def ros_probe_class():
    """Return the RosProbe class of test/helpers/launch_probe.py."""
    import launch_probe
    return launch_probe.RosProbe


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
