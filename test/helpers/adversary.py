"""
An adversary on the DDS domain of a running graph: the bad inputs of issue 14, on a timeline.

python adversary.py OUT.json

Its timeline is the graph's sim time (the /odom stamps) since the first planned
command, so the attacks come at the same points of the graph's run however slowly a
loaded machine starts it (before that first command it is -1). It records /cmd, /odom,
/diagnostics, the genuine /meta_mpc/state stamps and the /meta_mpc/command stamps (the
state each command answers), each led by its place on the timeline, and at these
places sends:

    STATES       /meta_mpc/state with x = 1e39 and x = 1e8, /odom with x = 1e39 (10 Hz)
    COMMANDS     /cmd [1e9, 1e9] at 10 Hz
    MODELS       four malformed model updates, then a genuine one captured early, replayed
    FUTURE       three /odom and /joint_states pairs stamped 1000 s ahead
    PATH         an empty /meta_mpc/reference; planner.mppi.noise_sigma [4.0, 4.0] set on the
                 controller
    FLOOD        malformed model updates as fast as it can publish, until it ends;
                 it prints 'flooding' 1 s into it

A line on its stdin (the test writes one once it has stopped the controller) marks
that place as `controller_stopped`; it ends AFTER_STOP later, or after MAX_WALL_S, or
when its stdin closes.
"""

import json
import select
import struct
import sys
import time

from diagnostic_msgs.msg import DiagnosticArray
from meta_mpc_ros.ros.diagnostics import read_status
from nav_msgs.msg import Odometry, Path
from rcl_interfaces.srv import SetParameters
import rclpy
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray, UInt8MultiArray

STATES = (3.0, 3.5)
COMMANDS = (4.0, 6.0)
MODELS = 6.0
FUTURE = 6.5
PATH = 7.0
FLOOD = 13.0
AFTER_STOP = 3.0
MAX_WALL_S = 300.0
MODEL_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


def malformed_updates():
    """Return model updates whose headers are valid JSON but not valid tensor entries."""
    headers = [{'w': {'dtype': 'F32', 'shape': [-1, -1], 'data_offsets': [0, 4]}},
               {'w': {'dtype': 'F32', 'shape': ['a'], 'data_offsets': [0, 4]}},
               {'w': {'dtype': 'F32', 'shape': [1], 'data_offsets': ['0', '4']}},
               {'__metadata__': ['not', 'a', 'dict']}]
    updates = []
    for header in headers:
        text = json.dumps(header).encode()
        updates.append(list(struct.pack('<Q', len(text)) + text + bytes(8)))
    return updates


class Adversary:
    """The node, what it saw and what it still has to send."""

    def __init__(self):
        self.node = rclpy.create_node('adversary')
        self.start = time.monotonic()
        self.seen = {'cmd': [], 'odom': [], 'diagnostics': [], 'sent': [], 'states': [],
                     'answers': [], 'set_noise_sigma': None, 'controller_stopped': None,
                     'first_command': None}
        self.state = None
        self.odom_stamp = None
        self.first_command = None       # sim s of the first planned command
        self.captured = None
        node = self.node
        node.create_subscription(Float64MultiArray, '/cmd', self.on_command, 100)
        node.create_subscription(JointState, '/meta_mpc/command', lambda m: self.seen[
            'answers'].append([self.now(), seconds(m.header.stamp)]), 100)
        node.create_subscription(Odometry, '/odom', self.on_odometry, 50)
        node.create_subscription(JointState, '/meta_mpc/state', self.on_state, 10)
        node.create_subscription(UInt8MultiArray, '/meta_mpc/model', self.on_model, MODEL_QOS)
        node.create_subscription(DiagnosticArray, '/diagnostics', lambda m: self.seen[
            'diagnostics'].extend([self.now(), read_status(s)] for s in m.status), 100)
        self.state_publisher = node.create_publisher(JointState, '/meta_mpc/state', 10)
        self.odom_publisher = node.create_publisher(Odometry, '/odom', 10)
        self.joint_publisher = node.create_publisher(JointState, '/joint_states', 10)
        self.cmd_publisher = node.create_publisher(Float64MultiArray, '/cmd', 10)
        self.model_publisher = node.create_publisher(UInt8MultiArray, '/meta_mpc/model',
                                                     MODEL_QOS)
        self.path_publisher = node.create_publisher(Path, '/meta_mpc/reference', LATCHED)
        self.parameters = node.create_client(SetParameters,
                                             '/mppi_controller_node/set_parameters')
        self.future = None

    def now(self):
        """Return the place on the timeline: sim s since the first planned command, or -1."""
        if self.first_command is None or self.odom_stamp is None:
            return -1.0
        return seconds(self.odom_stamp) - self.first_command

    def on_command(self, message):
        """Record a command; the first planned one (not ours, not zero) starts the timeline."""
        values = list(message.data)
        if self.first_command is None and self.odom_stamp is not None and any(values) and \
                values != [1e9, 1e9]:
            self.first_command = seconds(self.odom_stamp)
            self.seen['first_command'] = self.first_command
        self.seen['cmd'].append([self.now()] + values)

    def on_odometry(self, message):
        """Record the robot's position and the newest stamp (not our own messages)."""
        if abs(message.pose.pose.position.x) < 1e6 and message.header.stamp.sec < 500:
            self.odom_stamp = message.header.stamp
            self.seen['odom'].append([self.now(), message.pose.pose.position.x,
                                      message.pose.pose.position.y,
                                      seconds(message.header.stamp)])

    def on_state(self, message):
        """Keep the newest genuine state, to send corrupted copies of it."""
        if message.position and abs(message.position[0]) < 1e6:
            self.state = message
            self.seen['states'].append([self.now(), seconds(message.header.stamp)])

    def on_model(self, message):
        """Keep the first genuine update 2 s into the timeline, to replay it later."""
        if self.captured is None and self.now() > 2.0 and len(message.data) > 64:
            self.captured = list(message.data.tobytes())

    def sent(self, what):
        """Note that something was sent, and when."""
        self.seen['sent'].append([self.now(), what])

    def send_states(self):
        """Send states no planner can use, and odometry beyond float32."""
        if self.state is not None:
            for x in (1e39, 1e8):
                bad = JointState(name=list(self.state.name), position=list(self.state.position))
                bad.header = self.state.header
                bad.position[0] = x
                self.state_publisher.publish(bad)
        odometry = Odometry()
        odometry.header.stamp = self.node.get_clock().now().to_msg()
        odometry.pose.pose.position.x = 1e39
        odometry.pose.pose.orientation.w = 1.0
        self.odom_publisher.publish(odometry)
        self.sent('states')

    def send_future(self):
        """Send three odometry and joint pairs stamped 1000 s ahead of the graph."""
        for step in range(3):
            stamp = self.odom_stamp.sec + 1000 + step, self.odom_stamp.nanosec
            odometry = Odometry()
            odometry.header.stamp.sec, odometry.header.stamp.nanosec = stamp
            odometry.pose.pose.orientation.w = 1.0
            joints = JointState(name=['left_motor', 'right_motor'], position=[0.0, 0.0],
                                velocity=[0.0, 0.0])
            joints.header.stamp = odometry.header.stamp
            self.odom_publisher.publish(odometry)
            self.joint_publisher.publish(joints)
        self.sent('future')

    def send_path_and_parameters(self):
        """Send an empty reference path and ask the controller for new noise."""
        self.path_publisher.publish(Path())
        self.future = self.parameters.call_async(SetParameters.Request(parameters=[
            Parameter('planner.mppi.noise_sigma', value=[4.0, 4.0]).to_parameter_msg()]))
        self.sent('path')

    def ended(self):
        """Return whether to stop: AFTER_STOP past controller_stopped, or MAX_WALL_S."""
        if time.monotonic() - self.start > MAX_WALL_S:
            return True
        if select.select([sys.stdin], [], [], 0)[0]:
            if not sys.stdin.readline():
                return True         # stdin closed: the test is gone
            self.seen['controller_stopped'] = self.now()
        stopped = self.seen['controller_stopped']
        return stopped is not None and self.now() >= stopped + AFTER_STOP

    def run(self, out):
        """Follow the timeline until it ends, then write what was seen."""
        bad_updates = malformed_updates()
        next_tick, done = 0.0, set()
        print('ready', flush=True)
        while not self.ended():
            rclpy.spin_once(self.node, timeout_sec=0.002 if self.now() > FLOOD else 0.02)
            now = self.now()
            if now >= FLOOD:
                if now >= FLOOD + 1.0 and 'flood' not in done:
                    done.add('flood')
                    print('flooding', flush=True)
                self.model_publisher.publish(UInt8MultiArray(data=bad_updates[0]))
            if now >= next_tick:
                next_tick = now + 0.1
                if STATES[0] <= now < STATES[1]:
                    self.send_states()
                if COMMANDS[0] <= now < COMMANDS[1]:
                    self.cmd_publisher.publish(Float64MultiArray(data=[1e9, 1e9]))
                    self.sent('cmd')
            if now >= MODELS and 'models' not in done:
                done.add('models')
                for update in bad_updates + ([self.captured] if self.captured else []):
                    self.model_publisher.publish(UInt8MultiArray(data=update))
                self.sent('replayed' if self.captured else 'no update to replay')
            if now >= FUTURE and 'future' not in done and self.odom_stamp is not None:
                done.add('future')
                self.send_future()
            if now >= PATH and 'path' not in done:
                done.add('path')
                self.send_path_and_parameters()
            if self.future is not None and self.future.done():
                result = self.future.result().results[0]
                self.seen['set_noise_sigma'] = [result.successful, result.reason]
                self.future = None
        with open(out, 'w') as stream:
            json.dump(self.seen, stream)


def seconds(stamp):
    """Return a builtin_interfaces/Time in s."""
    return stamp.sec + stamp.nanosec * 1e-9


def main():
    """Run the adversary; write its observations to the file named first."""
    rclpy.init()
    adversary = Adversary()
    try:
        adversary.run(sys.argv[1])
    finally:
        adversary.node.destroy_node()
        rclpy.shutdown()


if __name__ == '__main__':
    main()
