"""
reference_node: publish the task's reference path on /meta_mpc/reference.

The path (nav_msgs/Path in `frame_id`, poses turned to the path headings) is built by
`ReferencePath.make(task, scale, spacing)` and published with transient-local
durability, so a controller that starts later still gets it, and again every
`publish_period_s` for subscribers that are volatile. The header stamp is the time the
path was built: a repeat keeps it, a changed path (setting task, scale or spacing at
run time) gets a new one, so a subscriber can tell a new path from a repeat.
"""

import math

from meta_mpc_ros.core.reference import ReferencePath, TASKS
from meta_mpc_ros.ros.conversions import reference_path_message
from meta_mpc_ros.ros.node_tools import run_node, StatusReporter
from meta_mpc_ros.ros.parameters import declare_parameters, ParameterSpec
from nav_msgs.msg import Path
from rcl_interfaces.msg import SetParametersResult
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

TOPIC = 'meta_mpc/reference'
MAX_POINTS = 20000
# Transient local: a subscriber asking for transient local gets the last path on joining.
LATCHED = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                     reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)

PARAMETERS = (
    ParameterSpec('task', 'figure8', 'Reference path to publish.', choices=TASKS,
                  dynamic=True),
    ParameterSpec('scale', 0.5, 'Size of the path, m (half the line, the turn radius, the '
                  'zig-zag leg or the figure-8 lobe radius).', bounds=(0.01, 100.0),
                  dynamic=True),
    ParameterSpec('spacing', 0.01, 'Distance between consecutive path points, m.',
                  bounds=(0.001, 1.0), dynamic=True),
    ParameterSpec('frame_id', 'odom', 'Frame of the path.',
                  check=lambda value: None if value else 'frame_id: must not be empty'),
    ParameterSpec('publish_period_s', 1.0, 'Period of republishing the path, s.',
                  bounds=(0.05, 3600.0)),
)
_SHAPE = ('task', 'scale', 'spacing')
_SPECS = {spec.name: spec for spec in PARAMETERS}


def make_path(task, scale, spacing):
    """
    Build the reference path, refusing sizes a Path message should not carry.

    :param task: one of TASKS.
    :param scale: path size, m.
    :param spacing: point spacing, m.
    :return: ReferencePath
    :raises ValueError: with the reason when the combination gives no usable path.
    """
    if scale / spacing > MAX_POINTS / (4.0 * math.pi):
        # The figure-8 is the longest shape: 4 pi scale of path.
        raise ValueError(f'scale {scale} m with spacing {spacing} m gives too many points '
                         f'(at most {MAX_POINTS}); increase spacing')
    return ReferencePath.make(task, scale=scale, spacing=spacing)


class ReferenceNode(Node):
    """Publish the reference path of a task, latched, and again when it changes."""

    def __init__(self, **kwargs):
        super().__init__('reference_node', **kwargs)
        values = declare_parameters(self, PARAMETERS)
        make_path(values['task'], values['scale'], values['spacing'])
        self.add_on_set_parameters_callback(self._check_shape)
        self._frame_id = values['frame_id']
        self._period_ns = int(values['publish_period_s'] * 1e9)
        self._publisher = self.create_publisher(Path, TOPIC, LATCHED)
        self._shape = None
        self._message = None
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._last_publish_ns = 0
        self._publishes = 0
        # Checked on a steady clock: the path is published even before /clock runs.
        self.create_timer(0.1, self._tick, clock=self._steady)
        self._tick()
        StatusReporter(self, 'reference', self.status)

    def _check_shape(self, parameters):
        """Reject a task/scale/spacing change that would give no usable path."""
        shape = {name: self.get_parameter(name).value for name in _SHAPE}
        for parameter in parameters:
            spec = _SPECS.get(parameter.name)
            if spec is not None and (not spec.dynamic or spec.validate(parameter.value)):
                # declare_parameters' own check rejects it, with the reason.
                return SetParametersResult(successful=True)
            if parameter.name in shape:
                shape[parameter.name] = parameter.value
        try:
            make_path(shape['task'], float(shape['scale']), float(shape['spacing']))
        except (ValueError, TypeError, ZeroDivisionError) as error:
            return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    def _tick(self):
        """Publish a changed path at once and an unchanged one every period."""
        shape = tuple(self.get_parameter(name).value for name in _SHAPE)
        now_ns = self._steady.now().nanoseconds
        if shape != self._shape:
            path = make_path(*shape)
            self._message = reference_path_message(path, self._frame_id,
                                                   self.get_clock().now().to_msg())
            self._shape = shape
            self.get_logger().info(
                f'reference: {path.name}, scale {shape[1]} m, {len(path.points)} poses, '
                f'{path.length:.2f} m, in {self._frame_id}')
        elif now_ns - self._last_publish_ns < self._period_ns:
            return
        self._publisher.publish(self._message)
        self._last_publish_ns = now_ns
        self._publishes += 1

    def status(self):
        """Return this node's /diagnostics status: (level, message, values)."""
        task, scale, spacing = self._shape
        values = {'task': task, 'scale_m': scale, 'poses': len(self._message.poses),
                  'publishes': self._publishes, 'dropped_messages': 0}
        return 'ok', f'publishing {task}', values


def main(args=None):
    """Run reference_node until interrupted; return 1 if its parameters are invalid."""
    return run_node(ReferenceNode, args, start_status=1)


if __name__ == '__main__':
    main()
