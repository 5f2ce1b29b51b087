"""
Launching the node graph: its one description and the two ways to start it.

    description  config/graph.yaml read into a Graph of NodeEntry's (ros2 launch's
                 launch/bringup.launch.py and `meta-mpc launch` both start it)
    arguments    the launch arguments: kinds, checks, registry-derived choices
    process      the node processes of one graph (start, watch, stop)
    launcher     `meta-mpc launch`: the embedded launcher
    command      its registration as a `meta-mpc` subcommand
    run          a graph run with a monitor (the demo and the ROS benchmark)

The description's API is re-exported here: `from meta_mpc_ros.ros import graph`.
"""

from meta_mpc_ros.ros.graph.description import (build_graph, check_packages,
                                                condition_holds, declared_arguments,
                                                default_run_dir, gazebo_model, Graph,
                                                GraphError, LaunchArgument, load_description,
                                                NodeEntry, PACKAGE, parse_bool,
                                                parse_schedule, resolve_arguments)

__all__ = ('build_graph', 'check_packages', 'condition_holds', 'declared_arguments',
           'default_run_dir', 'gazebo_model', 'Graph',
           'GraphError', 'LaunchArgument', 'load_description', 'NodeEntry', 'PACKAGE',
           'parse_bool', 'parse_schedule', 'resolve_arguments')
