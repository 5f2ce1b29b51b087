"""cmd_split_node, the Gazebo side's command adapter, as a real node process over DDS."""

import math
import pathlib

from meta_mpc_ros.ros.graph import NodeEntry
from meta_mpc_ros.ros.graph.process import GraphProcess
from std_msgs.msg import Float64, Float64MultiArray

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_each_side_is_forwarded_bad_commands_dropped_and_silence_stops_both(
        ros_env, tmp_path, ros_probe_class):
    entry = NodeEntry('meta_mpc_ros', 'cmd_split_node', 'cmd_split_node',
                      parameter_files=(str(ROOT / 'config' / 'cmd_split_node.yaml'),),
                      parameters={'use_sim_time': False, 'command_timeout_s': 1.0})
    process = GraphProcess([entry], tmp_path / 'logs', env=ros_env).start()
    probe = ros_probe_class(ros_env['ROS_DOMAIN_ID'], name='cmd_split_probe')
    try:
        node = probe.node
        received = {'left': [], 'right': []}
        for side, values in received.items():
            node.create_subscription(Float64, f'/millirobot/{side}_cmd',
                                     lambda message, values=values: values.append(
                                         message.data), 10)
        commands = node.create_publisher(Float64MultiArray, '/cmd', 10)
        assert probe.spin_until(lambda: node.count_subscribers('/cmd') and all(
            node.count_publishers(f'/millirobot/{side}_cmd') for side in received), 20), \
            process.tail('cmd_split_node')
        commands.publish(Float64MultiArray(data=[1.5, -2.0]))
        commands.publish(Float64MultiArray(data=[math.nan, 1.0]))    # dropped
        commands.publish(Float64MultiArray(data=[1.0, 2.0, 3.0]))    # dropped: 3 values
        commands.publish(Float64MultiArray(data=[3.0, 4.0]))
        # Then nothing: after command_timeout_s both sides get one zero, and only one.
        assert probe.spin_until(lambda: len(received['right']) >= 3, 20), received
        probe.spin_for(1.5)
        assert received == {'left': [1.5, 3.0, 0.0], 'right': [-2.0, 4.0, 0.0]}
        assert process.poll() == []
    finally:
        probe.close()
        codes = process.stop()
    assert codes == {'cmd_split_node': 0}
    log = pathlib.Path(process.log_path('cmd_split_node')).read_text()
    assert 'dropped cmd message' in log and 'both sides stopped' in log
