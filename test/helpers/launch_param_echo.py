"""
A tiny node for launcher tests: print its parameters as one JSON line, then spin.

python launch_param_echo.py --ros-args ...   prints: PARAMS {"name": value, ...}

Every parameter given on the command line or in a parameter file is declared
(automatically_declare_parameters_from_overrides), so the line shows exactly what the
launcher passed, with ROS types (arrays as lists).
"""

import json
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


class ParamEcho(Node):
    """Declare whatever parameters were passed and print them."""

    def __init__(self):
        super().__init__('param_echo', automatically_declare_parameters_from_overrides=True)
        values = {name: parameter.value for name, parameter in
                  self.get_parameters_by_prefix('').items()}
        values = {name: list(value) if hasattr(value, '__len__') and not isinstance(
            value, str) else value for name, value in values.items()}
        print('PARAMS ' + json.dumps(values, sort_keys=True), flush=True)
        print(f'NODE {self.get_fully_qualified_name()}', flush=True)


def main(args=None):
    """Spin until interrupted."""
    rclpy.init(args=args)
    node = ParamEcho()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
