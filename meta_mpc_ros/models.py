"""
Shipped checkpoints and which one an adapter uses.

The package installs meta-trained millirobot models under share/meta_mpc_ros/models/
as <robot>_<method>.pt (method grbal, rebal or mb). MB+DE fine-tunes the MB model, as
in the paper; GrBAL needs a GrBAL checkpoint (it carries psi) and ReBAL a ReBAL one.
"""

import pathlib

from meta_mpc_ros.core.checkpoint import CheckpointError, load_checkpoint
from meta_mpc_ros.core.millirobot import MILLIROBOT_ACTION, MILLIROBOT_STATE
from meta_mpc_ros.paths import share_path

ADAPTER_METHOD = {'mb': 'mb', 'de': 'mb', 'grbal': 'grbal', 'rebal': 'rebal'}


def shipped_checkpoint(robot, adapter):
    """Return the path of the shipped checkpoint for a robot and an adapter."""
    if adapter not in ADAPTER_METHOD:
        raise ValueError(f'unknown adapter {adapter!r}; choose one of {sorted(ADAPTER_METHOD)}')
    return share_path('models', f'{robot}_{ADAPTER_METHOD[adapter]}.pt')


def resolve_checkpoint(path, robot, adapter):
    """Return `path` as a Path, or the shipped checkpoint when it is empty."""
    return pathlib.Path(path).expanduser() if path else shipped_checkpoint(robot, adapter)


def check_adapter_fits(adapter, method):
    """Raise ValueError if a checkpoint trained with `method` cannot serve `adapter`."""
    if adapter == 'grbal' and method != 'grbal':
        raise ValueError(f'adapter grbal needs a GrBAL checkpoint (with psi), got {method}')
    if adapter == 'rebal' and method != 'rebal':
        raise ValueError(f'adapter rebal needs a ReBAL checkpoint, got {method}')
    if adapter in ('mb', 'de') and method == 'rebal':
        raise ValueError('a ReBAL checkpoint needs its context: use adapter rebal')


def load_graph_checkpoint(path, device, robot):
    """
    Load a checkpoint for the ROS graph's nodes, refusing one they could never use.

    The state estimator publishes MILLIROBOT_STATE and the simulator takes
    MILLIROBOT_ACTION, so a model of other sizes or entries would leave the graph
    alive but never commanding.

    :raises CheckpointError: (a ValueError) naming the file and the mismatch.
    """
    checkpoint = load_checkpoint(path, device, MILLIROBOT_STATE.dim, MILLIROBOT_ACTION.dim,
                                 robot=robot)
    if tuple(checkpoint.state_spec.names) != tuple(MILLIROBOT_STATE.names):
        raise CheckpointError(f'{path}: state entries {checkpoint.state_spec.names} are not '
                              f"the state estimator's {MILLIROBOT_STATE.names}")
    return checkpoint
