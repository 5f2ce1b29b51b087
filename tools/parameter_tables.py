"""
Write the parameter and launch-argument tables of docs/ros_interface.md.

Each node declares its parameters once (PARAMETERS in its module) and the launch
arguments are declared once in config/graph.yaml; this renders them into
docs/ros_interface.md between the markers `<!-- parameters:begin -->` and
`<!-- parameters:end -->`, and `<!-- arguments:begin -->` and `<!-- arguments:end -->`.
test/package/test_readme.py fails when they drift apart.

    .venv/bin/python tools/parameter_tables.py          # rewrite docs/ros_interface.md
"""

import importlib
import pathlib

NODES = ('sim_node', 'state_estimator_node', 'adaptive_dynamics_node',
         'mppi_controller_node', 'reference_node', 'bag_recorder', 'cmd_split_node')
BEGIN, END = '<!-- parameters:begin -->', '<!-- parameters:end -->'
ARGUMENTS_BEGIN, ARGUMENTS_END = '<!-- arguments:begin -->', '<!-- arguments:end -->'
ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / 'docs' / 'ros_interface.md'


def tables():
    """Return the Markdown of every node's parameter table."""
    from meta_mpc_ros.ros.parameters import markdown_table
    parts = []
    for node in NODES:
        module = importlib.import_module(f'meta_mpc_ros.ros.{node}')
        # A node whose parameters depend on the robot (the cost terms) lists the
        # millirobot's with parameters().
        specs = module.parameters() if hasattr(module, 'parameters') else module.PARAMETERS
        parts.append(f'### {node}\n\n{markdown_table(specs)}\n')
    return '\n'.join(parts)


def argument_table():
    """Return the Markdown table of the graph's launch arguments (config/graph.yaml)."""
    from meta_mpc_ros.ros.graph import declared_arguments
    lines = ['| argument | default | values | description |', '|---|---|---|---|']
    for spec in declared_arguments(ROOT / 'config' / 'graph.yaml'):
        values = ', '.join(spec.choices) if spec.choices else spec.kind
        default = f'`{spec.default_text}`' if spec.default_text else '(empty)'
        description = spec.description.replace('<', '&lt;').replace('>', '&gt;')
        lines.append(f'| `{spec.name}` | {default} | {values} | {description} |')
    return '\n'.join(lines) + '\n'


def _replace(text, begin, end, content):
    """Return text with the part between two markers replaced by content."""
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + '\n' + content + text[stop:]


def render(text):
    """Return the document's text with the tables between the markers replaced."""
    text = _replace(text, ARGUMENTS_BEGIN, ARGUMENTS_END, argument_table())
    return _replace(text, BEGIN, END, tables())


def main():
    """Rewrite docs/ros_interface.md in place."""
    DOCUMENT.write_text(render(DOCUMENT.read_text()))
    print(f'updated the parameter tables in {DOCUMENT}')


if __name__ == '__main__':
    main()
