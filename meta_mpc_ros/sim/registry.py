"""
Names of the simulated robots, and one function that builds any of them.

'millirobot' and 'diff_drive' are always there; the legged benchmarks (half-cheetah,
ant) join when the subpackage meta_mpc_ros.sim.legged is installed, imported only when
first needed. A registered robot (robots.ROBOTS) whose description names one of them
as its simulator's environment is built under its own name too.
`ENVIRONMENTS` is computed on first access, like everything here.

The simulators sim_node runs are named by the robots' descriptions
(SimDescription.simulator, 'module:Class'): `simulated_robots()` lists the robots that
name one, and `simulator_class(robot)` imports it, so that a user's robot brings its own
simulator in its own module.
"""

import functools
import importlib


def _environment_classes():
    """Return name -> gymnasium Env class for every available robot."""
    from meta_mpc_ros.sim.diff_drive_env import DiffDriveEnv
    from meta_mpc_ros.sim.millirobot_env import MillirobotEnv
    classes = {'millirobot': MillirobotEnv, 'diff_drive': DiffDriveEnv}
    try:
        legged = importlib.import_module('meta_mpc_ros.sim.legged')
    except ModuleNotFoundError as error:
        if error.name not in ('meta_mpc_ros.sim.legged', 'meta_mpc_ros.sim'):
            raise
    else:
        classes.update(getattr(legged, 'LEGGED_ENVS', {}))
    # A robot whose description names one of these environments builds it by its name
    # (robot half_cheetah: the half_cheetah_disabled_joint family).
    from meta_mpc_ros.robots import ROBOTS
    for name, description in ROBOTS.items():
        if name not in classes and description.sim is not None and \
                description.sim.environment in classes:
            classes[name] = classes[description.sim.environment]
    return classes


def environment_names():
    """Return the names make_env accepts, 'millirobot' first."""
    return tuple(_environment_classes())


def environment_class(name):
    """
    Return the Env class registered under a name.

    :param name: one of environment_names().
    :raises ValueError: for an unknown name, listing the known ones.
    """
    classes = _environment_classes()
    if name not in classes:
        raise ValueError(f'unknown environment {name!r}; choose one of {tuple(classes)}')
    return classes[name]


def make_env(name, **kwargs):
    """
    Build one environment.

    :param name: one of environment_names().
    :param kwargs: passed to the Env's constructor (e.g. task, condition).
    :return: gymnasium.Env
    """
    return environment_class(name)(**kwargs)


@functools.lru_cache(maxsize=None)
def robot_specs(robot):
    """
    Return (state_spec, action_spec, control_dt) of a registered robot.

    Built once per process (an environment is built, read and closed) and cached: the
    specs are frozen dataclasses. A robot described without a simulator (robots.ROBOTS,
    `sim` None) gives its description's.
    """
    from meta_mpc_ros.robots import ROBOTS
    description = ROBOTS.get(robot)
    simulated_in_process = description is not None and description.sim is not None \
        and bool(description.sim.environment)
    if description is not None and not simulated_in_process \
            and robot not in _environment_classes():
        return description.state, description.action, description.control_dt
    env = make_env(robot)
    try:
        return env.state_spec, env.action_spec, env.control_dt
    finally:
        env.close()


@functools.lru_cache(maxsize=None)
def robot_cost_terms(robot):
    """
    Return the planner cost terms (tuple of dicts) a simulated robot's environment gives.

    What a robot config without a `cost:` section plans with (pipeline.config); built
    once per process, like robot_specs.
    """
    env = make_env(robot)
    try:
        return tuple(dict(term) for term in env.cost_terms())
    finally:
        env.close()


def simulated_robots():
    """Return the registered robots whose description names a simulator for sim_node."""
    from meta_mpc_ros.robots import ROBOTS
    return tuple(name for name, robot in ROBOTS.items()
                 if robot.sim is not None and robot.sim.simulator)


def simulator_class(robot, world=''):
    """
    Return the simulator class sim_node runs for a registered robot.

    :param robot: a name of simulated_robots().
    :param world: one of its description's world_names ('' is the default).
    :raises ValueError: in one line, for a robot without a simulator or that world, or
        one whose 'module:Class' does not import.
    """
    from meta_mpc_ros.robots import robot_description
    description = robot_description(robot)
    path = description.world(world).simulator if description.sim is not None else ''
    if not path:
        raise ValueError(f'robot {robot!r} names no simulator for sim_node; '
                         f'choose one of {simulated_robots()}')
    return _import_class(path, robot)


@functools.lru_cache(maxsize=None)
def _import_class(path, robot):
    """Import 'module:Class' (ValueError in one line if it does not)."""
    module_name, _, class_name = path.partition(':')
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f'robot {robot!r}: its simulator {path!r} does not import '
                         f'({error})') from None


def __getattr__(name):
    """Compute ENVIRONMENTS (the registered names) when first asked for."""
    if name == 'ENVIRONMENTS':
        return environment_names()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
