"""
The experiment grid gives the same numbers on Ray tasks as serially, for the same seeds.

A tiny grid (one legged family at the smoke budget: Algorithm 1 with its collection
episodes as nested tasks, the oracle, MB, ReBAL and continual, then every evaluation
episode as its own task) runs twice from scratch, once per executor, in separate
caches; every return must be identical, since each job carries its own seeds and runs
torch on one thread either way.
"""

import json
import subprocess
import sys

from meta_mpc_ros.results import legged
from meta_mpc_ros.results.grid import Executor
import pytest

pytestmark = pytest.mark.slow

FAMILY = 'half_cheetah_pier'


def _square(job):
    return job * job


def test_executor_maps_in_order_both_ways():
    jobs = [3, 1, 2]
    assert Executor('serial').map_jobs(_square, jobs) == [9, 1, 4]
    with pytest.raises(ValueError):
        Executor('threads')


def test_ray_grid_gives_the_serial_numbers(tmp_path):
    serial = legged.run('smoke', 3, out=tmp_path / 'serial', runs=tmp_path / 'runs_serial',
                        families=(FAMILY,), executor=Executor('serial'))
    # Ray runs in a process of its own: a Ray driver started in the test process made the
    # node-graph tests that run after it track badly (test_external_robot, 0.22 m).
    script = ('from meta_mpc_ros.results import legged\n'
              'from meta_mpc_ros.results.grid import Executor\n'
              "executor = Executor('ray', num_cpus=2)\n"
              'try:\n'
              f"    legged.run('smoke', 3, out={str(tmp_path / 'ray')!r}, "
              f"runs={str(tmp_path / 'runs_ray')!r}, families=({FAMILY!r},), "
              'executor=executor)\n'
              'finally:\n'
              '    executor.shutdown()\n')
    subprocess.run([sys.executable, '-c', script], check=True, timeout=900)
    remote = json.loads((tmp_path / 'ray' / 'results' / 'legged.json').read_text())
    assert remote['executor']['kind'] == 'ray' and remote['executor']['cpus'] == 2
    first, second = serial['families'][FAMILY], remote['families'][FAMILY]
    assert first['data']['transitions'] == second['data']['transitions']
    assert [r['best_validation_loss'] for r in first['data']['rounds']] == \
        [r['best_validation_loss'] for r in second['data']['rounds']]
    for task, entry in first['results'].items():
        for method, row in entry['methods'].items():
            assert second['results'][task]['methods'][method]['returns'] == row['returns'], \
                (task, method)
