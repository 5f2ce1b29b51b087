"""
The Gazebo path's files, checked statically (Gazebo cannot run here).

The URDF's <gazebo> block, the world SDFs and the ros_gz_bridge YAML must parse and
agree with each other, with the robot contract (data.bag_dataset.ROBOT_TOPICS) and
with the MuJoCo conditions the worlds stand for.
"""

import math
import pathlib
import xml.etree.ElementTree as ElementTree

from meta_mpc_ros.data.bag_dataset import ROBOT_TOPICS
from meta_mpc_ros.robots.millirobot import MOTOR_JOINTS
from meta_mpc_ros.sim.conditions import PRESETS, TRAINING_CONDITIONS
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
URDF = ROOT / 'urdf' / 'millirobot.urdf'
WORLDS = TRAINING_CONDITIONS + ('slippery_slope',)
BRIDGE = yaml.safe_load((ROOT / 'config' / 'gazebo_bridge.yaml').read_text())
SIDE_COMMANDS = ('/millirobot/left_cmd', '/millirobot/right_cmd')   # cmd_split_node's


def plugins(root):
    """Return {short system name: [plugin elements]} of a parsed URDF or SDF."""
    found = {}
    for plugin in root.iter('plugin'):
        found.setdefault(plugin.get('name').split('::')[-1], []).append(plugin)
    return found


def test_urdf_gazebo_block_drives_every_joint_and_publishes_the_contract():
    robot = ElementTree.parse(URDF).getroot()
    joints = {joint.get('name'): joint for joint in robot.iter('joint')}
    systems = plugins(robot)
    assert all(plugin.get('filename').startswith('gz-sim-') for group in systems.values()
               for plugin in group)
    controllers = systems['JointController']
    # One velocity controller per side drives its motor and the legs that mimic it
    # (Gazebo does not enforce mimic joints): every movable joint exactly once.
    driven = [[name.text for name in plugin.iter('joint_name')] for plugin in controllers]
    assert sorted(name for names in driven for name in names) == sorted(joints)
    for names, motor, topic in zip(driven, MOTOR_JOINTS, SIDE_COMMANDS):
        assert names[0] == motor
        assert {joints[name].find('mimic').get('joint') for name in names[1:]} == {motor}
    assert [plugin.find('topic').text for plugin in controllers] == list(SIDE_COMMANDS)
    odometry = systems['OdometryPublisher'][0]
    assert odometry.find('odom_frame').text == 'odom'
    assert odometry.find('robot_base_frame').text == 'base_link'
    assert odometry.find('dimensions').text == '3'      # the slope world tilts the body
    gz_topics = {entry['ros_topic_name']: entry['gz_topic_name'] for entry in BRIDGE}
    assert odometry.find('odom_topic').text == gz_topics['/odom']
    assert systems['JointStatePublisher'][0].find('topic').text == gz_topics['/joint_states']
    # Every foot grips more than any world's ground, so the ground sets the friction.
    feet = [element for element in robot.iter('gazebo') if element.get('reference')]
    assert sorted(foot.get('reference') for foot in feet) == sorted(
        joints[name].find('child').get('link') for name in joints if name not in MOTOR_JOINTS)
    assert min(float(foot.find('mu1').text) for foot in feet) > max(
        PRESETS[world].friction for world in WORLDS)


def test_bridge_yaml_carries_the_robot_contract():
    fields = {'ros_topic_name', 'gz_topic_name', 'ros_type_name', 'gz_type_name',
              'direction'}
    assert all(set(entry) == fields for entry in BRIDGE)
    from_gazebo = {entry['ros_topic_name']: entry['ros_type_name'] for entry in BRIDGE
                   if entry['direction'] == 'GZ_TO_ROS'}
    # What the graph subscribes to, with the contract's types, plus the clock.
    contract = {ROBOT_TOPICS[role][0]: ROBOT_TOPICS[role][1]
                for role in ('odom', 'joint_states')}
    assert from_gazebo == dict(contract, **{'/clock': 'rosgraph_msgs/msg/Clock'})
    to_gazebo = [(entry['ros_topic_name'], entry['gz_topic_name'], entry['ros_type_name'],
                  entry['gz_type_name']) for entry in BRIDGE if entry['direction'] == 'ROS_TO_GZ']
    assert to_gazebo == [(topic, topic, 'std_msgs/msg/Float64', 'gz.msgs.Double')
                         for topic in SIDE_COMMANDS]
    gz_types = {entry['ros_type_name']: entry['gz_type_name'] for entry in BRIDGE}
    assert gz_types['nav_msgs/msg/Odometry'] == 'gz.msgs.Odometry'
    assert gz_types['sensor_msgs/msg/JointState'] == 'gz.msgs.Model'
    assert gz_types['rosgraph_msgs/msg/Clock'] == 'gz.msgs.Clock'


@pytest.mark.parametrize('world', WORLDS)
def test_world_sdf_is_the_mujoco_condition_as_friction_and_pose(world):
    root = ElementTree.parse(ROOT / 'worlds' / f'{world}.sdf').getroot()
    assert root.tag == 'sdf' and root.get('version') == '1.9'
    (scene,) = root.findall('world')
    assert scene.get('name') == 'millirobot_world'
    # Physics steps the world, UserCommands lets `create` spawn into it.
    assert {'Physics', 'UserCommands', 'SceneBroadcaster'} <= set(plugins(scene))
    ground = scene.find("model[@name='ground']")
    assert ground.find('static').text == 'true'
    friction = ground.find('link/collision/surface/friction/ode')
    condition = PRESETS[world]
    assert float(friction.find('mu').text) == condition.friction
    assert float(friction.find('mu2').text) == condition.friction
    x, y, z, roll, pitch, yaw = map(float, ground.find('pose').text.split())
    # Uphill towards +x (slope_dir_deg 0) is a negative pitch about +y.
    assert (x, y, z, roll, yaw) == (0.0, 0.0, 0.0, 0.0, 0.0)
    assert condition.slope_dir_deg == 0.0
    assert pitch == pytest.approx(-math.radians(condition.slope_deg), abs=1e-6)
    for plane in ground.iter('plane'):
        assert plane.find('normal').text.split() == ['0', '0', '1']
