"""
ROS parameter declarations: one table per node, each entry typed and described.

Every node lists its parameters once, as a tuple of `ParameterSpec`, and calls
`declare_parameters(node, SPECS)`. Static parameters are read-only after start;
dynamic ones are validated (range, choices, custom check) whenever they are set,
and a bad value is rejected with a reason instead of being applied.
"""

import array
from dataclasses import dataclass, fields
import inspect
import math
import re

from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
from rclpy.exceptions import ParameterException
from rclpy.parameter import Parameter


@dataclass(frozen=True)
class ParameterSpec:
    """
    One parameter: name, default, description, and how values are checked.

    :param bounds: inclusive (low, high) for numbers, or for every element of a
        number list.
    :param choices: allowed values for a string: a tuple, or a registry (a dict whose
        keys are the choices, read when a value is checked, so that a registered
        adapter or planner is accepted).
    :param dynamic: may be changed while the node runs.
    :param check: optional function(value) -> error string, or None when valid.
    """

    name: str
    default: object
    description: str
    bounds: tuple = None
    choices: tuple = None
    dynamic: bool = False
    check: object = None

    def validate(self, value):
        """Return None if `value` is acceptable, else the reason it is not."""
        value = plain_value(value)
        values = value if isinstance(value, list) else [value]
        if self.bounds is not None:
            low, high = self.bounds
            for item in values:
                if isinstance(item, bool) or not isinstance(item, (int, float)):
                    return f'{self.name}: expected a number, got {item!r}'
                if not math.isfinite(item) or not low <= item <= high:
                    return f'{self.name}: {item!r} is outside [{low}, {high}]'
        if self.choices is not None and value not in self.choices:
            return f'{self.name}: {value!r} is not one of {list(self.choices)}'
        if self.check is not None:
            return self.check(value)
        return None

    def descriptor(self):
        """Return the rcl_interfaces ParameterDescriptor shown by `ros2 param describe`."""
        descriptor = ParameterDescriptor(description=self.description,
                                         read_only=not self.dynamic)
        if self.bounds is not None:
            low, high = self.bounds
            if isinstance(self.default, int) and not isinstance(self.default, bool):
                descriptor.integer_range = [IntegerRange(from_value=int(low), to_value=int(high),
                                                         step=0)]
            elif isinstance(self.default, float):
                descriptor.floating_point_range = [FloatingPointRange(
                    from_value=float(low), to_value=float(high), step=0.0)]
            else:
                descriptor.additional_constraints = f'each element in [{low}, {high}]'
        if self.choices is not None:
            descriptor.additional_constraints = 'one of: ' + ', '.join(map(str, self.choices))
        return descriptor


def plain_value(value):
    """
    Return a parameter value with arrays as lists.

    rclpy hands double and integer arrays over as array.array, byte arrays as bytes
    lists; everything here compares and checks plain lists.
    """
    if isinstance(value, (array.array, tuple)):
        return list(value)
    return value


def declare_parameters(node, specs, on_change=None, check_change=None):
    """
    Declare every parameter of a node and validate their starting values.

    A set request is checked as a whole before anything is applied, so that a batch
    rclpy rejects is never half applied.

    :param node: the rclpy Node.
    :param specs: tuple of ParameterSpec.
    :param on_change: optional function(name, value) called for each dynamic parameter
        once the whole request passed validation (rclpy runs the newest set-callback
        first, so applying values in a separate callback could apply invalid ones).
    :param check_change: optional function(name, value) -> error text or None, for
        checks that need the node's state (e.g. a size known after start); called for
        every parameter of a request before any is applied.
    :return: dict name -> value as set at start (defaults overridden by --ros-args);
        dynamic changes are written back into it.
    :raises ValueError: when a starting value is invalid, with every reason.
    """
    by_name = {spec.name: spec for spec in specs}
    values = {}
    errors = []
    for spec in specs:
        try:
            parameter = node.declare_parameter(spec.name, spec.default, spec.descriptor())
        except ParameterException as error:     # e.g. a string where a number belongs
            errors.append(f'{spec.name}: {error}')
            continue
        values[spec.name] = plain_value(parameter.value)
        error = spec.validate(parameter.value)
        if error:
            errors.append(error)
    if errors:
        raise ValueError('invalid parameters: ' + '; '.join(errors))

    def rejection(parameter):
        spec = by_name[parameter.name]
        if not spec.dynamic:
            return f'{parameter.name} is static (set at start)'
        if parameter.type_ == Parameter.Type.NOT_SET:
            return f'{parameter.name} cannot be unset'
        error = spec.validate(parameter.value)
        if error is None and check_change is not None:
            error = check_change(parameter.name, plain_value(parameter.value))
        return error

    def on_set(parameters):
        ours = [parameter for parameter in parameters if parameter.name in by_name]
        for parameter in ours:
            reason = rejection(parameter)
            if reason:
                return SetParametersResult(successful=False, reason=reason)
        for parameter in ours:
            value = plain_value(parameter.value)
            if on_change is not None:
                on_change(parameter.name, value)
            values[parameter.name] = value
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)
    return values


def config_parameters(config, table, prefix=''):
    """
    Return the ParameterSpecs of the fields of a config dataclass that a node exposes.

    The defaults come from the config (tuples as lists), so a node parameter that
    mirrors a config field cannot drift from it.

    :param config: a dataclass, e.g. core.controller.ControllerConfig (its field
        defaults), or an instance of one (its values: a robot YAML's section).
    :param table: field name -> (description, dict of ParameterSpec options), in order.
    :param prefix: put before every parameter name.
    :return: tuple of ParameterSpec.
    """
    if isinstance(config, type):
        defaults = {item.name: item.default for item in fields(config)}
    else:
        defaults = {item.name: getattr(config, item.name) for item in fields(config)}
    return tuple(
        ParameterSpec(prefix + name,
                      list(defaults[name]) if isinstance(defaults[name], tuple)
                      else defaults[name], description, **options)
        for name, (description, options) in table.items())


def field_descriptions(config_class):
    """
    Return the `:param name: text` entries of a dataclass's docstring (name -> text).

    A component's settings dataclass documents each field once; its node parameters
    take their descriptions from there.
    """
    text = inspect.getdoc(config_class) or ''
    return {name: ' '.join(description.split()) for name, description in re.findall(
        r':param (\w+): (.*?)(?=\n\s*:param |\n\s*:\w+|\Z)', text, re.DOTALL)}


def settings_parameters(namespace, owner, settings_class, values):
    """
    Return `<namespace>.<owner>.<setting>` parameters of a component's own settings.

    A planner's (`planner.<name>.*`) and an adapter's (`adapter.<name>.*`) settings are
    a frozen dataclass: its `:param name:` lines describe them, and a value is checked
    by building the dataclass with it, so that its `__post_init__` is the one range.
    They are static, but for those the dataclass's class attribute `dynamic` names
    (MPPI's temperature and noise_sigma); tuples are number lists.

    :param namespace: 'planner' or 'adapter'.
    :param owner: the component's registered name.
    :param settings_class: its settings dataclass.
    :param values: setting -> default (the robot YAML's), in order.
    :return: tuple of ParameterSpec.
    """
    described = field_descriptions(settings_class)
    kinds = {item.name: item.default for item in fields(settings_class)}
    dynamic = getattr(settings_class, 'dynamic', ())

    def check(name):
        def checked(value):
            try:
                settings_class(**{name: value})
            except (TypeError, ValueError) as error:
                return f'{namespace}.{owner}.{name}: {error}'
            return None
        return checked

    specs = []
    for name, value in values.items():
        if isinstance(kinds[name], float):
            value = float(value)
        elif isinstance(kinds[name], tuple):
            value = [float(item) for item in value]
        text = described.get(name, name).rstrip('.')
        specs.append(ParameterSpec(
            f'{namespace}.{owner}.{name}', value,
            f'{owner} ({settings_class.__name__}): {text[:1].upper() + text[1:]}.',
            dynamic=name in dynamic, check=check(name)))
    return tuple(specs)


def markdown_table(specs):
    """Return the parameters as a Markdown table (for docs/ros_interface.md)."""
    lines = ['| parameter | default | range / choices | dynamic | description |',
             '|---|---|---|---|---|']
    for spec in specs:
        if spec.bounds is not None:
            allowed = f'[{spec.bounds[0]}, {spec.bounds[1]}]'
        elif spec.choices is not None:
            allowed = ', '.join(map(str, spec.choices))
        else:
            allowed = ''
        lines.append(f'| `{spec.name}` | `{spec.default!r}` | {allowed} | '
                     f'{"yes" if spec.dynamic else "no"} | {spec.description} |')
    return '\n'.join(lines)
