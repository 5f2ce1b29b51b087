"""
Shared fixtures: DDS isolation for every process a test starts.

Modules the tests share (analytic systems, probes, listeners) live in test/helpers/,
which this puts on sys.path; no test module imports another.
"""

import fcntl
import os
import pathlib
import random
import sys
import tempfile

from meta_mpc_ros.ros.discovery import keep_on_loopback
import pytest

HELPERS = pathlib.Path(__file__).resolve().parent / 'helpers'
sys.path.insert(0, str(HELPERS))
_RANDOM = random.SystemRandom()
# A DDS domain is leased by holding an exclusive lock on its file: two test runs on one
# machine (or a demo beside them) never share a domain, and a run that dies frees its
# leases with its file descriptors.
_LEASES = pathlib.Path(tempfile.gettempdir()) / 'meta_mpc_ros_dds_domains'
_DOMAINS = range(1, 101)


def lease_domain(exclude=()):
    """
    Lease a DDS domain id no other process on this machine holds.

    :param exclude: ids not to take.
    :return: (domain id, the open lock file: the lease lasts until it is closed).
    :raises RuntimeError: if every domain is held.
    """
    _LEASES.mkdir(exist_ok=True)
    candidates = [domain for domain in _DOMAINS if domain not in exclude]
    _RANDOM.shuffle(candidates)
    for domain in candidates:
        handle = open(_LEASES / f'{domain}.lock', 'w')
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return domain, handle
    raise RuntimeError(f'every DDS domain in {_DOMAINS} is held by another run')


# Tests import the installed package (make test installs it into .venv); processes
# they start must find the same interpreter and keep DDS on loopback.
keep_on_loopback()      # the variable the distro in use reads (meta_mpc_ros/ros/discovery.py)
# An empty ROS_DOMAIN_ID (make exports one when it is unset) counts as unset.
if not os.environ.get('ROS_DOMAIN_ID', '').strip().isdigit():
    _RUN_DOMAIN, _RUN_LEASE = lease_domain()
    os.environ['ROS_DOMAIN_ID'] = str(_RUN_DOMAIN)
os.environ.setdefault('MUJOCO_GL', 'egl')


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
