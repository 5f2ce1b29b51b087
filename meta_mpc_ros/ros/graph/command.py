"""`meta-mpc launch`: start the node graph here, where ros2 launch is missing."""


def add_parser(subparsers):
    """Register `meta-mpc launch` (options in meta_mpc_ros.ros.graph.launcher)."""
    from meta_mpc_ros.ros.graph import launcher
    parser = subparsers.add_parser(
        'launch', help='start the node graph (as ros2 launch meta_mpc_ros bringup.launch.py)',
        description=launcher.__doc__.strip().splitlines()[0])
    launcher.add_arguments(parser)
