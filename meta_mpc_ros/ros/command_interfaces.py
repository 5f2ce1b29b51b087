"""
The messages of the command interfaces: how a command vector becomes a message, and back.

robots.description.COMMAND_INTERFACES says, per interface, its topic and message types;
`COMMAND_MESSAGES` says, per message type, its rclpy class and how a (nu,) command is
written into it (the readers are data.readers.COMMAND_READERS). The controller
publishes with `CommandChannel.message`, sim_node and the state estimator read with
`CommandChannel.read`: one definition of each layout.

    std_msgs/msg/Float64MultiArray    data = the command, in the description's order
    geometry_msgs/msg/Twist           linear.x, angular.z = the command's two entries
    geometry_msgs/msg/TwistStamped    the same in `twist`, stamped, in the base frame
"""

from dataclasses import dataclass

from geometry_msgs.msg import Twist, TwistStamped
from meta_mpc_ros.data.readers import COMMAND_READERS, finite_array
from meta_mpc_ros.ros.conversions import command_message
from meta_mpc_ros.ros.parameters import ParameterSpec
from std_msgs.msg import Float64MultiArray


def _float64_multi_array(values, stamp, frame_id):
    """Return the command as a Float64MultiArray (one value per action entry)."""
    return command_message(values)


def _twist(values, stamp, frame_id):
    """Return a (linear.x, angular.z) command as a Twist."""
    if values.size != 2:
        raise ValueError(f'a twist command has 2 values (linear.x, angular.z), got '
                         f'{values.size}')
    message = Twist()
    message.linear.x, message.angular.z = float(values[0]), float(values[1])
    return message


def _twist_stamped(values, stamp, frame_id):
    """Return a (linear.x, angular.z) command as a TwistStamped in `frame_id`."""
    message = TwistStamped(twist=_twist(values, stamp, frame_id))
    message.header.frame_id = frame_id
    if stamp is not None:
        message.header.stamp = stamp
    return message


@dataclass(frozen=True)
class CommandMessage:
    """
    One command message type.

    :param message_class: its rclpy class.
    :param build: (values (nu,) float64, stamp Time or None, frame_id) -> message.
    """

    message_class: type
    build: object


# The parameter of every node on the command topic (controller, sim_node, estimator):
# nav2's name for it, which Jazzy's nav2 sets true.
STAMPED_PARAMETER = ParameterSpec(
    'enable_stamped_cmd_vel', False, "Use the command interface's stamped variant "
    '(geometry_msgs/TwistStamped on /cmd_vel, as Jazzy nav2 does); a robot whose interface '
    'has none refuses it.')

# Message type (as rosbag2 names it) -> CommandMessage.
COMMAND_MESSAGES = {
    'std_msgs/msg/Float64MultiArray': CommandMessage(Float64MultiArray, _float64_multi_array),
    'geometry_msgs/msg/Twist': CommandMessage(Twist, _twist),
    'geometry_msgs/msg/TwistStamped': CommandMessage(TwistStamped, _twist_stamped),
}


class CommandChannel:
    """
    A robot's command topic: its message type, how to write and read it.

    :param interface: robots.description.CommandInterface.
    :param stamped: use the interface's stamped variant (TwistStamped for Twist).
    :param frame_id: the frame of a stamped command (the base's).
    :raises ValueError: when `stamped` is asked of an interface without a stamped type.
    """

    def __init__(self, interface, stamped=False, frame_id='base_link'):
        if stamped and not interface.stamped_type:
            raise ValueError(f'{interface.topic} ({interface.message_type}) has no stamped '
                             'variant')
        self.topic = interface.topic
        self.message_type = interface.stamped_type if stamped else interface.message_type
        self.frame_id = frame_id
        self._message = COMMAND_MESSAGES[self.message_type]
        self._read = COMMAND_READERS[self.message_type]

    @property
    def message_class(self):
        """Return the rclpy class of the messages on the topic."""
        return self._message.message_class

    def message(self, command, stamp=None):
        """
        Return the message of a command.

        :param command: (nu,) finite values.
        :param stamp: builtin_interfaces/Time for a stamped type (None: unstamped).
        :raises ValueError: for non-finite values or a size the type cannot hold.
        """
        return self._message.build(finite_array(command, 'command').reshape(-1), stamp,
                                   self.frame_id)

    def read(self, message, size=None):
        """Return the (nu,) command of a message (data.readers.COMMAND_READERS)."""
        return self._read(message, size)
