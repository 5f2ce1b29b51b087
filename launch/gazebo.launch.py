"""
Run the meta_mpc_ros graph against the millirobot in Gazebo (gz-sim) instead of MuJoCo.

    ros2 launch meta_mpc_ros gazebo.launch.py world:=styrofoam adapter:=grbal headless:=false

Untested where it was written (no Gazebo there); written for Jazzy with Gazebo
Harmonic and ros_gz (docs/gazebo.md: what Humble with Fortress needs). It starts

- gz-sim (ros_gz_sim's gz_sim.launch.py) on worlds/<world>.sdf, running, with its GUI
  unless headless:=true;
- ros_gz_sim's `create`, spawning urdf/millirobot.urdf, whose <gazebo> block adds a
  JointController per side, a JointStatePublisher and an OdometryPublisher;
- ros_gz_bridge's parameter_bridge with config/gazebo_bridge.yaml (/clock, /odom,
  /joint_states from Gazebo; the two per-side commands to it);
- cmd_split_node, which turns our /cmd [left, right] into those two commands;
- the graph itself: bringup.launch.py with sim:=none, every other argument passed on.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare
from meta_mpc_ros.paths import share_path
from meta_mpc_ros.ros import graph

WORLDS = ('carpet', 'styrofoam', 'turf', 'slippery_slope')
WORLD_NAME = 'millirobot_world'     # <world name> in every worlds/*.sdf
SPAWN_HEIGHT_M = '0.04'             # feet clear of the ground, then it drops


def launch_setup(context):
    """Return Gazebo, the spawner, the bridge and the graph for the chosen world."""
    world = LaunchConfiguration('world').perform(context)
    headless = graph.parse_bool(LaunchConfiguration('headless').perform(context), 'headless')
    gz_sim = FindPackageShare('ros_gz_sim').perform(context) + '/launch/gz_sim.launch.py'
    gz_args = ('-s ' if headless else '') + '-r ' + str(share_path('worlds', world + '.sdf'))
    sim_time = {'use_sim_time': True}
    return [
        IncludeLaunchDescription(PythonLaunchDescriptionSource(gz_sim),
                                 launch_arguments={'gz_args': gz_args}.items()),
        Node(package='ros_gz_sim', executable='create', output='screen',
             arguments=['-world', WORLD_NAME, '-name', 'millirobot',
                        '-file', str(share_path('urdf', 'millirobot.urdf')),
                        '-z', SPAWN_HEIGHT_M]),
        Node(package='ros_gz_bridge', executable='parameter_bridge', output='screen',
             parameters=[{'config_file': str(share_path('config', 'gazebo_bridge.yaml'))},
                         sim_time]),
        Node(package='meta_mpc_ros', executable='cmd_split_node', output='screen',
             parameters=[str(share_path('config', 'cmd_split_node.yaml')), sim_time]),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(share_path('launch', 'bringup.launch.py'))),
            launch_arguments={'sim': 'none'}.items()),
    ]


def generate_launch_description():
    """Declare the world (and the graph's headless) and start Gazebo with the graph."""
    headless = next(spec for spec in graph.declared_arguments() if spec.name == 'headless')
    return LaunchDescription([
        DeclareLaunchArgument('world', default_value='carpet', choices=list(WORLDS),
                              description='Gazebo world: a training terrain or the slope '
                              '(worlds/<world>.sdf).'),
        DeclareLaunchArgument('headless', default_value=headless.default_text,
                              description=headless.description),
        OpaqueFunction(function=launch_setup),
    ])
