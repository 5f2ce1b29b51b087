"""
Write the README's parameter tables from the nodes' parameter declarations.

Each node declares its parameters once (PARAMETERS in its module); this renders them
into README.md between the markers `<!-- parameters:begin -->` and
`<!-- parameters:end -->`. test/package/test_readme.py fails when they drift apart.

    .venv/bin/python tools/parameter_tables.py          # rewrite README.md
"""

import importlib
import pathlib

NODES = ('sim_node', 'state_estimator_node', 'adaptive_dynamics_node',
         'mppi_controller_node', 'reference_node', 'bag_recorder')
BEGIN, END = '<!-- parameters:begin -->', '<!-- parameters:end -->'
README = pathlib.Path(__file__).resolve().parent.parent / 'README.md'


def tables():
    """Return the Markdown of every node's parameter table."""
    from meta_mpc_ros.ros.parameters import markdown_table
    parts = []
    for node in NODES:
        module = importlib.import_module(f'meta_mpc_ros.ros.{node}')
        parts.append(f'#### {node}\n\n{markdown_table(module.PARAMETERS)}\n')
    return '\n'.join(parts)


def render(text):
    """Return README text with the tables between the markers replaced."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + '\n' + tables() + text[end:]


def main():
    """Rewrite README.md in place."""
    README.write_text(render(README.read_text()))
    print(f'updated the parameter tables in {README}')


if __name__ == '__main__':
    main()
