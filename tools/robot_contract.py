"""
Write each registered robot's contract into docs/robot_contract.md.

Every robot is described once (meta_mpc_ros/robots, ROBOTS); this renders, per robot,
the state the estimator builds from /odom and /joint_states, the joints it reads, the
actions it takes on its command interface, and its config, tasks, simulator, URDF and
shipped checkpoints, between the markers `<!-- robots:begin -->` and
`<!-- robots:end -->`. test/package/test_readme.py fails when they drift apart.

    .venv/bin/python tools/robot_contract.py          # rewrite docs/robot_contract.md
"""

import pathlib

BEGIN, END = '<!-- robots:begin -->', '<!-- robots:end -->'
NO_TASKS = 'none (its cost needs no reference path)'
ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / 'docs' / 'robot_contract.md'
# Where each state term's source is in the messages.
FIELDS = {
    'position': '/odom `pose.pose.position.{}` (odom)',
    'orientation': '/odom `pose.pose.orientation`, {} (ZYX)',
    'linear_velocity': '/odom `twist.twist.linear.{}` (base_link)',
    'angular_velocity': '/odom `twist.twist.angular.{}` (base_link)',
    'joint_position': '/joint_states `position` of `{}`',
    'joint_velocity': '/joint_states `velocity` of `{}`',
}


def state_rows(robot):
    """Return the Markdown rows of a robot's state table, one per entry."""
    rows, index = [], 0
    for term in robot.state_terms:
        source = FIELDS[term.source].format(term.component)
        parts = (('cos', 'sin') if term.cos_sin else (None,))
        for entry, unit, part in zip(term.entries, term.units, parts):
            seen = f'{part} of {source}, {term.unit}' if part else source
            excluded = entry in robot.model_input_excluded
            rows.append(f'| {index} | `{entry}` | {unit} | {seen} |'
                        f' {"no" if excluded else "yes"} |')
            index += 1
    return rows


def robot_section(robot):
    """Return the Markdown contract of one robot."""
    action, command = robot.action, robot.command_interface
    sources = '`/odom` and `/joint_states`' if robot.joints else '`/odom` alone'
    lines = [f'### {robot.name}', '', robot.summary, '',
             f'State ({robot.state.dim} entries, `/meta_mpc/state`), built by the state '
             f'estimator from the latest {sources}:', '',
             '| # | entry | unit | from | model input |', '|---|---|---|---|---|']
    lines += state_rows(robot)
    joints = ', '.join(f'`{name}`' for name in robot.joints)
    lines += ['', f'Joints read from `/joint_states` (state_estimator_node `motor_joints`, '
              f'default {joints}; other joints are ignored).' if joints else
              'No joints are read (no `/joint_states`, and bags need none).', '',
              f'Actions ({action.dim} entries) on `{command.topic}` ({command.message_type}, '
              f'{command.description}):', '',
              '| # | entry | unit | low | high |', '|---|---|---|---|---|']
    lines += [f'| {i} | `{name}` | {unit} | {low:g} | {high:g} |' for i, (name, unit, low, high)
              in enumerate(zip(action.names, action.units, action.low, action.high))]
    sim = robot.sim
    simulated = (f'`{sim.environment or sim.simulator}` ({sim.model or "built in code"}), '
                 f'starting on `{sim.default_condition}`; conditions in `{sim.conditions}`'
                 if sim else 'none (drive it with `sim:=none`)')
    if sim and sim.worlds:
        simulated += ('; its worlds (sim_node `world`, launch argument `sim_world`): ' +
                      '; '.join(f'`{world.name}`{" (the default)" if world is sim else ""}, '
                                f'`{world.environment}`, conditions in `{world.conditions}`'
                                for world in (sim,) + tuple(sim.worlds)))
    limits = robot.acceleration_limits
    if limits:
        lines += ['', 'Acceleration limits (the controller ramps its commands to them): ' +
                  ', '.join(f'`{name}` {limit:g} {unit}/s' for name, unit, limit in
                            zip(action.names, action.units, limits)) + '.']
    if command.stamped_type:
        lines += ['', f'With `enable_stamped_cmd_vel:=true` the controller publishes '
                  f'{command.stamped_type} instead (stamped, in the base frame).']
    config = robot.config_name if robot.config_name.endswith(('.yaml', '.yml')) else \
        f'config/{robot.config_name}.yaml'
    lines += ['', f'- **Learning config and default cost:** `{config}`.',
              f'- **Tasks:** {", ".join(robot.tasks) or NO_TASKS}.',
              f'- **Control rate:** {robot.control_rate_hz:g} Hz (one state, one command per '
              f'{robot.control_dt:g} s of sim time; its simulator publishes at '
              f'{robot.publish_rate_hz:g} Hz).',
              f'- **Simulator:** {simulated}.',
              f'- **URDF for rviz:** {f"`{robot.urdf}`" if robot.urdf else "none"}.',
              f'- **Shipped checkpoints:** `models/{robot.checkpoint_file("<method>")}`.', '']
    lines += shipped_rows(robot)
    return '\n'.join(lines)


def shipped_rows(robot):
    """Return the Markdown table of a robot's shipped checkpoints, read from the files."""
    from meta_mpc_ros.core.checkpoint import load_checkpoint
    from meta_mpc_ros.core.objectives import METHODS
    files = [(method, ROOT / 'models' / robot.checkpoint_file(method)) for method in METHODS]
    files = [(method, path) for method, path in files if path.exists()]
    if not files:
        return []
    rows = ['| file | KB | model | transitions (sim-hours) | iterations run | validation '
            'loss: first, best |', '|---|---|---|---|---|---|']
    for method, path in files:
        training = load_checkpoint(path).training
        model = ' x '.join(str(size) for size in training['model']['hidden_sizes'])
        rows.append(f'| `{path.name}` | {path.stat().st_size / 1024:.0f} | {model} | '
                    f'{training["transitions"]:,} ({training["sim_hours"]:.2g}) | '
                    f'{training["iterations"]} | {training["initial_validation_loss"]:.3g}, '
                    f'{training["best_validation_loss"]:.3g} |')
    return rows + ['', 'Read from the checkpoints (the last training round; validation '
                   "losses are normalised MSE on held-out windows, each method's own).", '']


def contracts():
    """Return the Markdown of every registered robot's contract."""
    from meta_mpc_ros.robots import ROBOTS
    return '\n'.join(robot_section(robot) for robot in ROBOTS.values())


def render(text):
    """Return the document's text with the robots' contracts between the markers."""
    start, stop = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + '\n' + contracts() + text[stop:]


def main():
    """Rewrite docs/robot_contract.md in place."""
    DOCUMENT.write_text(render(DOCUMENT.read_text()))
    print(f'updated the robot contracts in {DOCUMENT}')


if __name__ == '__main__':
    main()
