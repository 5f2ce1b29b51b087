"""
Run the meta_mpc_ros graph against a robot in Gazebo (gz-sim) instead of MuJoCo.

    ros2 launch meta_mpc_ros gazebo.launch.py world:=styrofoam adapter:=grbal headless:=false
    ros2 launch meta_mpc_ros gazebo.launch.py --show-args

Untested where it was written (no Gazebo there); written for Jazzy with Gazebo
Harmonic and ros_gz (docs/gazebo.md: what Humble with Fortress needs). It takes
every argument of bringup.launch.py (but `sim`, which is `none` here: Gazebo is the
robot) and `world`, checks that ros_gz_sim and ros_gz_bridge (and rviz's packages
with rviz:=true) are installed, naming every missing one in one line, and starts

- gz-sim (ros_gz_sim's gz_sim.launch.py) on worlds/<world>.sdf, running, with its GUI
  unless headless:=true;
- ros_gz_sim's `create`, spawning the `robot` argument's URDF (its description's
  `urdf`), whose <gazebo> block adds its controllers, a JointStatePublisher and an
  OdometryPublisher; a robot whose URDF has none is refused in one line;
- ros_gz_bridge's parameter_bridge with config/gazebo_bridge.yaml (/clock, /odom,
  /joint_states from Gazebo; the per-side commands to it);
- cmd_split_node, which turns our /cmd into those per-side commands;
- the graph itself: bringup.launch.py with sim:=none and every other argument.
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
GAZEBO_PACKAGES = ('ros_gz_sim', 'ros_gz_bridge')
NOT_PASSED = ('sim',)               # bringup's arguments that Gazebo decides


def graph_arguments():
    """Return bringup's launch arguments that this file declares and passes on."""
    return [spec for spec in graph.declared_arguments() if spec.name not in NOT_PASSED]


def launch_setup(context):
    """Check what the launch needs, then return Gazebo, the spawner, the bridge, the graph."""
    values = {spec.name: LaunchConfiguration(spec.name).perform(context)
              for spec in graph_arguments()}
    values['sim'] = 'none'
    world = LaunchConfiguration('world').perform(context)
    # Everything is checked before anything starts: the graph's arguments, the robot's
    # Gazebo model and every package, so that a failure leaves no orphan process.
    description = graph.build_graph(values)
    urdf = graph.gazebo_model(values['robot'])
    graph.check_packages(GAZEBO_PACKAGES + tuple(entry.package
                                                 for entry in description.external_nodes),
                         'install ros-$ROS_DISTRO-ros-gz (docs/gazebo.md), or launch '
                         'without the option that needs them (rviz:=false)')
    headless = graph.parse_bool(values['headless'], 'headless')
    gz_sim = FindPackageShare('ros_gz_sim').perform(context) + '/launch/gz_sim.launch.py'
    gz_args = ('-s ' if headless else '') + '-r ' + str(share_path('worlds', world + '.sdf'))
    sim_time = {'use_sim_time': True}
    return [
        IncludeLaunchDescription(PythonLaunchDescriptionSource(gz_sim),
                                 launch_arguments={'gz_args': gz_args}.items()),
        Node(package='ros_gz_sim', executable='create', output='screen',
             arguments=['-world', WORLD_NAME, '-name', values['robot'], '-file', str(urdf),
                        '-z', SPAWN_HEIGHT_M]),
        Node(package='ros_gz_bridge', executable='parameter_bridge', output='screen',
             parameters=[{'config_file': str(share_path('config', 'gazebo_bridge.yaml'))},
                         sim_time]),
        Node(package='meta_mpc_ros', executable='cmd_split_node', output='screen',
             parameters=[str(share_path('config', 'cmd_split_node.yaml')), sim_time]),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(share_path('launch', 'bringup.launch.py'))),
            launch_arguments=values.items()),
    ]


def generate_launch_description():
    """Declare `world` and bringup's arguments (shown by --show-args), then start it all."""
    arguments = [DeclareLaunchArgument(spec.name, default_value=spec.default_text,
                                       description=spec.description,
                                       choices=list(spec.choices) if spec.choices else None)
                 for spec in graph_arguments()]
    return LaunchDescription([
        DeclareLaunchArgument('world', default_value='carpet', choices=list(WORLDS),
                              description='Gazebo world: a training terrain or the slope '
                              '(worlds/<world>.sdf).'),
        *arguments,
        OpaqueFunction(function=launch_setup),
    ])
