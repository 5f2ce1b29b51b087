"""
Shipped checkpoints and which one an adapter uses.

The package installs meta-trained models under share/meta_mpc_ros/models/, named by
each robot's description (robots.ROBOTS: <robot>_<method>.pt, method grbal, rebal,
continual or mb). Each adapter ships
with the first of its registered checkpoint methods (core.adapters.ADAPTERS): MB+DE
fine-tunes the MB model, as in the paper; GrBAL needs a checkpoint that carries psi
and ReBAL a ReBAL one.
"""

import pathlib

from meta_mpc_ros.core.adapters import ADAPTERS, make_adapter
from meta_mpc_ros.core.checkpoint import CheckpointError, load_checkpoint
from meta_mpc_ros.paths import share_path
from meta_mpc_ros.robots import robot_description, ROBOTS


def shipped_checkpoint(robot, adapter):
    """Return the path of the shipped checkpoint for a robot and an adapter."""
    if adapter not in ADAPTERS:
        raise ValueError(f'unknown adapter {adapter!r}; choose one of {tuple(ADAPTERS)}')
    method = ADAPTERS[adapter].checkpoint_methods[0]
    name = ROBOTS[robot].checkpoint_file(method) if robot in ROBOTS else f'{robot}_{method}.pt'
    return share_path('models', name)


def resolve_checkpoint(path, robot, adapter):
    """Return `path` as a Path, or the shipped checkpoint when it is empty."""
    return pathlib.Path(path).expanduser() if path else shipped_checkpoint(robot, adapter)


def check_adapter_fits(adapter, method):
    """Raise ValueError if a checkpoint trained with `method` cannot serve `adapter`."""
    accepted = ADAPTERS[adapter].checkpoint_methods
    if method not in accepted:
        raise ValueError(f'adapter {adapter} needs a checkpoint trained with '
                         f'{" or ".join(accepted)}, got {method}')


def default_adapter(method):
    """Return the adapter a checkpoint trained with `method` is meant for (the first)."""
    for name, spec in ADAPTERS.items():
        if spec.training_method == method:
            return name
    raise ValueError(f'no adapter is trained with {method!r}')


def adapter_for(checkpoint, adapter, meta_params, settings=None):
    """
    Build `adapter` for a loaded checkpoint, after checking that the checkpoint fits.

    :param meta_params: theta* as the caller holds it (continual compares against it).
    :param settings: the adapter's own settings (core.adapters.adapter_settings; the
        robot YAML's `adapters: <name>:`), None for its defaults. An adapter that a
        training method unrolls (the continual decay) runs with the setting it was
        trained with when both come from the same robot YAML.
    """
    check_adapter_fits(adapter, checkpoint.method)
    return make_adapter(adapter, checkpoint.step_size, meta_params=meta_params,
                        settings=settings)


def load_graph_checkpoint(path, device, robot):
    """
    Load a checkpoint for the ROS graph's nodes, refusing one they could never use.

    The state estimator publishes the state of the robot's description and the robot
    takes its actions, so a model of other sizes or entries would leave the graph alive
    but never commanding.

    :param robot: a key of robots.ROBOTS.
    :raises CheckpointError: (a ValueError) naming the file and the mismatch.
    """
    description = robot_description(robot)
    state, action = description.state, description.action
    checkpoint = load_checkpoint(path, device, state.dim, action.dim, robot=robot)
    if tuple(checkpoint.state_spec.names) != tuple(state.names):
        raise CheckpointError(f'{path}: state entries {checkpoint.state_spec.names} are not '
                              f"the state estimator's {state.names}")
    return checkpoint
