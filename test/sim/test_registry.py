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


def test_each_simulated_robot_names_a_simulator_that_imports():
    from meta_mpc_ros.robots import ROBOTS
    assert set(registry.simulated_robots()) >= {'millirobot', 'diff_drive'}
    for name in registry.simulated_robots():
        simulator = registry.simulator_class(name)
        assert simulator.parse_condition(ROBOTS[name].sim.default_condition) is not None


def test_a_simulator_that_does_not_import_is_refused_in_one_line():
    import dataclasses

    from meta_mpc_ros.robots import register_robot, ROBOTS, robot_description
    millirobot = robot_description('millirobot')
    register_robot(dataclasses.replace(millirobot, name='broken_robot', sim=dataclasses.replace(
        millirobot.sim, simulator='no_such_module:Simulator')))
    register_robot(dataclasses.replace(millirobot, name='unsimulated_robot', sim=None))
    try:
        with pytest.raises(ValueError) as error:
            registry.simulator_class('broken_robot')
        assert "robot 'broken_robot': its simulator 'no_such_module:Simulator' does not " \
            'import' in str(error.value) and '\n' not in str(error.value)
        with pytest.raises(ValueError, match='names no simulator'):
            registry.simulator_class('unsimulated_robot')
        assert 'unsimulated_robot' not in registry.simulated_robots()
    finally:
        ROBOTS.pop('broken_robot', None)
        ROBOTS.pop('unsimulated_robot', None)


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
