"""
Build diagnostic_msgs/DiagnosticArray messages for /diagnostics; no rclpy.

Every node reports the same way: one DiagnosticStatus per concern, named
`<node name>: <concern>`, with a level, a one-line message and key/value pairs
(numbers written with up to 6 significant digits, bools as true/false):

    status = diagnostic_status('mppi_controller_node: planner', 'ok', 'planning',
                               {'compute_ms': 3.2, 'model_age_s': 0.1})
    publisher.publish(diagnostic_array([status], node.get_clock().now().to_msg()))
"""

import math

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

LEVELS = {'ok': DiagnosticStatus.OK, 'warn': DiagnosticStatus.WARN,
          'error': DiagnosticStatus.ERROR, 'stale': DiagnosticStatus.STALE}
LEVEL_NAMES = {ord(level): name for name, level in LEVELS.items()}


def level_byte(level):
    """
    Return the DiagnosticStatus level byte for a name or number.

    :param level: 'ok', 'warn', 'error', 'stale' (any case), 0-3, or a level byte.
    :return: bytes of length 1 as the message field takes it.
    :raises ValueError: for anything else.
    """
    if isinstance(level, bytes) and len(level) == 1 and level[0] in LEVEL_NAMES:
        return level
    if isinstance(level, str) and level.lower() in LEVELS:
        return LEVELS[level.lower()]
    if isinstance(level, int) and not isinstance(level, bool) and level in LEVEL_NAMES:
        return bytes([level])
    raise ValueError(f'unknown diagnostic level {level!r}; use one of {list(LEVELS)}')


def format_value(value):
    """Return a value as diagnostics show it: 6 significant digits, true/false, text."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, float):
        return f'{value:.6g}' if math.isfinite(value) else str(value)
    if hasattr(value, 'item') and getattr(value, 'ndim', None) == 0:
        return format_value(value.item())
    return str(value)


def diagnostic_status(name, level, message, values=None, hardware_id=''):
    """
    Return one DiagnosticStatus.

    :param name: '<node name>: <concern>'.
    :param level: 'ok', 'warn', 'error' or 'stale' (or 0-3).
    :param message: one line saying what is going on.
    :param values: optional mapping key -> value (number, bool, text), kept in order.
    :param hardware_id: optional hardware identifier.
    :return: DiagnosticStatus
    """
    status = DiagnosticStatus(name=str(name), message=str(message),
                              hardware_id=str(hardware_id))
    status.level = level_byte(level)
    status.values = [KeyValue(key=str(key), value=format_value(value))
                     for key, value in (values or {}).items()]
    return status


def diagnostic_array(statuses, stamp):
    """
    Return a DiagnosticArray of statuses.

    :param statuses: iterable of DiagnosticStatus.
    :param stamp: builtin_interfaces/Time.
    :return: DiagnosticArray
    """
    message = DiagnosticArray(status=list(statuses))
    message.header.stamp = stamp
    return message


def read_status(status):
    """
    Return a DiagnosticStatus as a plain dict (for tests, logs and bag analysis).

    :param status: DiagnosticStatus (rclpy or rosbags).
    :return: dict with name, level ('ok'...'stale'), message and values (dict of str).
    """
    level = status.level
    number = level[0] if isinstance(level, (bytes, bytearray)) else int(level)
    return {'name': status.name, 'level': LEVEL_NAMES.get(number, str(number)),
            'message': status.message,
            'values': {item.key: item.value for item in status.values}}
