"""
Bring up the meta_mpc_ros graph with ros2 launch (Humble, Jazzy).

    ros2 launch meta_mpc_ros bringup.launch.py adapter:=rebal task:=zigzag rviz:=true
    ros2 launch meta_mpc_ros bringup.launch.py --show-args

The nodes, their parameter files and overrides come from meta_mpc_ros.ros.graph
(config/graph.yaml), the description that `meta-mpc launch` also starts; this file
only declares the arguments and turns graph entries into Node actions.
"""

from typing import List

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from meta_mpc_ros.ros import graph


def _parameter(value):
    """Return a graph parameter value as launch_ros takes it (strings kept strings)."""
    if isinstance(value, str):
        return ParameterValue(value, value_type=str)
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return ParameterValue(value, value_type=List[str])
    return value


def _node(entry):
    """Return the launch_ros Node action of one graph entry."""
    overrides = {name: _parameter(value) for name, value in entry.parameters.items()}
    parameters = list(entry.parameter_files) + ([overrides] if overrides else [])
    # A required node's exit stops the launch, as `meta-mpc launch` does.
    return Node(package=entry.package, executable=entry.executable, name=entry.name,
                parameters=parameters, remappings=list(entry.remappings),
                arguments=list(entry.arguments), output='screen',
                on_exit=_required_exit if entry.required and not entry.external else None)


def _required_exit(event, context):
    """
    Stop the launch when a required node exits; fail it if the graph was running.

    launch's exit status is 1 only when an event handler raises (it then shuts down
    every process and exits 1), so a node that ends while nothing asked the launch to
    stop raises here: a supervisor tells a crash from a stop, as with `meta-mpc launch`.
    """
    if context.is_shutdown:
        return None
    raise RuntimeError(f'required node {event.action.name} exited with code '
                       f'{event.returncode} while the graph was running')


def launch_setup(context):
    """Build the graph from the launch arguments and return its actions."""
    values = {spec.name: LaunchConfiguration(spec.name).perform(context)
              for spec in graph.declared_arguments()}
    description = graph.build_graph(values)
    graph.check_packages([entry.package for entry in description.external_nodes],
                         'install them or launch without the option that needs them '
                         '(rviz:=false)')
    actions = [_node(entry) for entry in description.nodes]
    if values.get('log_dir'):
        actions.insert(0, SetEnvironmentVariable('ROS_LOG_DIR', str(description.log_dir)))
    return actions


def generate_launch_description():
    """Declare the graph's launch arguments and start its nodes."""
    arguments = [DeclareLaunchArgument(spec.name, default_value=spec.default_text,
                                       description=spec.description,
                                       choices=list(spec.choices) if spec.choices else None)
                 for spec in graph.declared_arguments()]
    return LaunchDescription(arguments + [OpaqueFunction(function=launch_setup)])
