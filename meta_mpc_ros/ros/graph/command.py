"""
`meta-mpc launch`: start the node graph here, where ros2 launch is missing.

Also `meta-mpc evaluate --through-graph`, which needs the graph.
"""


def add_parser(subparsers):
    """Register `meta-mpc launch` (options in meta_mpc_ros.ros.graph.launcher)."""
    from meta_mpc_ros.ros.graph import launcher
    parser = subparsers.add_parser(
        'launch', help='start the node graph (as ros2 launch meta_mpc_ros bringup.launch.py)',
        description=launcher.__doc__.strip().splitlines()[0])
    launcher.add_arguments(parser)
    extend_evaluate(subparsers)


def extend_evaluate(subparsers):
    """Add --through-graph to `meta-mpc evaluate` (registered by pipeline.commands)."""
    evaluate = subparsers.choices['evaluate']
    evaluate.add_argument('--through-graph', action='store_true',
                          help='also run every episode through the node graph in lockstep '
                          'and report how far it is from the in-process one (0 expected)')
    in_process = evaluate.get_default('run')

    def run(args):
        if not args.through_graph:
            return in_process(args)
        from meta_mpc_ros.ros.graph.episode import run_through_graph
        return run_through_graph(args)
    evaluate.set_defaults(run=run)
