"""The environment registry and the `bench sim` table."""

import argparse
import importlib.util

from meta_mpc_ros.bench import sim as bench_sim
from meta_mpc_ros.sim import registry
from meta_mpc_ros.sim.millirobot_env import MillirobotEnv
import pytest


def test_millirobot_is_registered_first():
    assert registry.ENVIRONMENTS[0] == 'millirobot'
    assert registry.environment_names() == registry.ENVIRONMENTS
    env = registry.make_env('millirobot', task='left_turn', condition='payload')
    assert isinstance(env, MillirobotEnv)
    assert env.task == 'left_turn' and env.condition == 'payload'
    env.close()


def test_legged_benchmarks_join_when_installed():
    if importlib.util.find_spec('meta_mpc_ros.sim.legged') is None:
        assert registry.ENVIRONMENTS == ('millirobot',)
        return
    from meta_mpc_ros.sim.legged import LEGGED_ENVS
    assert set(LEGGED_ENVS) <= set(registry.ENVIRONMENTS)
    for name, cls in LEGGED_ENVS.items():
        assert registry.environment_class(name) is cls


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match='millirobot'):
        registry.make_env('hexapod')
    with pytest.raises(AttributeError):
        registry.NOT_A_NAME


def test_bench_prints_a_row_per_robot(capsys):
    parser = argparse.ArgumentParser()
    bench_sim.add_arguments(parser)
    args = parser.parse_args(['--seconds', '0.2', '--envs', 'millirobot'])
    assert bench_sim.run(args) == 0
    out = capsys.readouterr().out
    assert 'physics steps/s' in out and 'real-time factor' in out
    row = [line for line in out.splitlines() if 'millirobot' in line]
    assert len(row) == 1
    cells = [cell.strip() for cell in row[0].strip('|').split('|')]
    # 4 ms physics steps, 100 ms control steps: 25 physics steps per control step.
    assert cells[1:3] == ['4', '100']
    assert float(cells[4]) == pytest.approx(25 * float(cells[3]), rel=0.02)
