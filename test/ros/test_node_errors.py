"""
A node given something it can never use stops at once with one line and status 2.

Each node runs as a real process; what it prints is what a user of `ros2 run` or
`meta-mpc launch` reads.
"""

import subprocess
import sys

from meta_mpc_ros.core.checkpoint import save_checkpoint
from meta_mpc_ros.core.model import DynamicsModel, ModelConfig
from meta_mpc_ros.core.spaces import StateSpec
from meta_mpc_ros.paths import executable_dir
from meta_mpc_ros.robots.millirobot import MILLIROBOT_ACTION
import pytest


def run_node(name, env, *parameters):
    """Run a node executable with `-p` parameters until it exits; return the result."""
    command = [sys.executable, str(executable_dir() / name), '--ros-args']
    for parameter in parameters:
        command += ['-p', parameter]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def assert_one_line_error(result, *texts):
    """Check status 2 and a one-line reason on stderr, without a traceback."""
    assert result.returncode == 2, result.stderr
    assert 'Traceback' not in result.stderr
    # rcl's own log lines ('[WARN] [...] [rcl]: ...', about the DDS settings) aside.
    lines = [line for line in result.stderr.strip().splitlines()
             if not line.startswith('[')]
    assert len(lines) == 1, result.stderr
    assert all(text in lines[0] for text in texts), lines[0]


@pytest.fixture(scope='module')
def wrong_state_checkpoint(tmp_path_factory):
    """Return a millirobot checkpoint whose model takes a 3-entry state, not 19."""
    spec = StateSpec(('x', 'y', 'v'), ('m', 'm', 'm/s'), model_input_excluded=('x', 'y'))
    model = DynamicsModel(ModelConfig(spec.dim, MILLIROBOT_ACTION.dim, (2,), (8,)))
    path = tmp_path_factory.mktemp('checkpoints') / 'three_states.pt'
    save_checkpoint(path, model, 'mb', 'millirobot', spec, MILLIROBOT_ACTION)
    return path


@pytest.mark.parametrize('node', ['mppi_controller_node', 'adaptive_dynamics_node'])
def test_a_checkpoint_of_the_wrong_state_size_is_refused_at_start(
        node, ros_env, wrong_state_checkpoint):
    # Before, both nodes started, the graph looked alive and never commanded.
    result = run_node(node, ros_env, f'checkpoint:={wrong_state_checkpoint}', 'adapter:=mb')
    assert_one_line_error(result, str(wrong_state_checkpoint),
                          'state size 3 does not match the expected 19')


def test_a_wrong_type_in_the_parameters_is_one_line(ros_env):
    result = run_node('state_estimator_node', ros_env, 'control_rate_hz:=fast')
    assert_one_line_error(result, 'invalid parameters', 'control_rate_hz')
