"""
Launch arguments of the node graph: their kinds, how values are checked and typed.

`config/graph.yaml` declares each argument once (default, description, kind, choices);
`meta_mpc_ros.ros.graph` builds the graph from them. An argument's choices are listed, or
read from a registry of the package (`registry: adapters`), so that adding an adapter
or a planner offers it to ros2 launch as well. No ROS package is imported.
"""

from dataclasses import dataclass
import importlib
import pathlib
import re

from meta_mpc_ros.sim import conditions

ARGUMENT_TYPES = ('bool', 'string', 'name', 'file', 'directory', 'schedule', 'topic')
_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_]*$')
# A ROS topic name, absolute or relative: tokens of letters, digits and _, not starting
# with a digit, separated by single slashes.
# Registries that an argument's `registry:` may name: name -> (module, attribute).
REGISTRIES = {
    'adapters': ('meta_mpc_ros.core.adapters', 'ADAPTERS'),
    'planners': ('meta_mpc_ros.core.controller', 'PLANNERS'),
    'tasks': ('meta_mpc_ros.core.reference', 'TASKS'),
    'robots': ('meta_mpc_ros.robots', 'ROBOTS'),
}
_TOPIC = re.compile(r'^/?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$')


class GraphError(ValueError):
    """A launch argument or the graph description is invalid; the message says why."""


@dataclass(frozen=True)
class LaunchArgument:
    """
    One launch argument: name, default (typed), description, kind and choices.

    `kind` is one of ARGUMENT_TYPES (bool, or how a string is checked).
    """

    name: str
    default: object
    description: str
    kind: str = 'string'
    choices: tuple = None

    @property
    def default_text(self):
        """Return the default as ros2 launch writes it ('true'/'false' for a bool)."""
        if isinstance(self.default, bool):
            return 'true' if self.default else 'false'
        return str(self.default)

    def parse(self, value):
        """
        Check one value of this argument and return it typed.

        :param value: a string as given on a command line, or an already typed value.
        :return: bool for a bool argument; str otherwise (files and directories absolute,
            or '' when empty).
        :raises GraphError: when the value is not acceptable, saying why.
        """
        if self.kind == 'bool':
            return parse_bool(value, self.name)
        if not isinstance(value, str):
            raise GraphError(f'{self.name}: expected a string, got {value!r}')
        value = value.strip()
        if self.choices is not None and value not in self.choices:
            raise GraphError(f'{self.name}: {value!r} is not one of {", ".join(self.choices)}')
        if self.kind == 'name' and not _NAME.match(value):
            raise GraphError(f'{self.name}: {value!r} is not a name (letters, digits, _)')
        if self.kind == 'topic' and not _TOPIC.match(value):
            raise GraphError(f'{self.name}: {value!r} is not a topic name (e.g. /robot/odom)')
        if self.kind == 'schedule':
            parse_schedule(value, self.name)
        if self.kind == 'file' and value:
            path = self._path(value)
            if not path.is_file():
                raise GraphError(f'{self.name}: no such file {value!r}')
            return str(path)
        if self.kind == 'directory' and value:
            return str(self._path(value))
        return value

    def _path(self, value):
        """Return a file or directory value as an absolute path (~ and ~user expanded)."""
        try:
            return pathlib.Path(value).expanduser().resolve()
        except RuntimeError as error:     # ~user of a user that does not exist
            raise GraphError(f'{self.name}: {value!r}: {error}') from None


def parse_bool(value, name='value'):
    """
    Read a boolean as ROS launch does: true/false or 1/0, any case.

    :param value: bool or string.
    :param name: argument name for the error message.
    :return: bool
    :raises GraphError: for anything else.
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ('true', '1'):
        return True
    if text in ('false', '0'):
        return False
    raise GraphError(f'{name}: expected true or false, got {value!r}')


def parse_schedule(text, name='terrain_schedule'):
    """
    Check a condition schedule launch argument (sim.conditions.parse_schedule).

    :return: list of (time_s, spec)
    :raises GraphError: when the syntax or the times are wrong.
    """
    try:
        return conditions.parse_schedule(text, name)
    except ValueError as error:
        raise GraphError(str(error)) from None


def launch_argument(name, entry, path):
    """Return the LaunchArgument of one `arguments:` item, checking its fields."""
    if not isinstance(entry, dict) or 'default' not in entry or 'description' not in entry:
        raise GraphError(f'{path}: argument {name!r} needs a default and a description')
    kind = 'bool' if isinstance(entry['default'], bool) else entry.get('type', 'string')
    if kind not in ARGUMENT_TYPES:
        raise GraphError(f'{path}: argument {name!r} has unknown type {kind!r}')
    if 'choices' in entry and 'registry' in entry:
        raise GraphError(f'{path}: argument {name!r} has both choices and a registry')
    choices = tuple(entry['choices']) if 'choices' in entry else None
    if 'registry' in entry:
        if entry['registry'] not in REGISTRIES:
            raise GraphError(f'{path}: argument {name!r}: unknown registry '
                             f'{entry["registry"]!r}; known: {", ".join(REGISTRIES)}')
        module, attribute = REGISTRIES[entry['registry']]
        choices = tuple(getattr(importlib.import_module(module), attribute))
    argument = LaunchArgument(name=name, default=entry['default'],
                              description=str(entry['description']), kind=kind,
                              choices=choices)
    argument.parse(argument.default)
    return argument
