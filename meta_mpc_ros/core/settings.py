"""
Typed settings from plain mappings (YAML sections, ROS parameter values, run records).

Every settings dataclass documents its fields once, with `:param name:` lines that
say the range, and checks that range in `__post_init__`; `settings_from_mapping` is
the one way a mapping becomes such a dataclass, and `own_settings` the one way a
component (an adapter, a planner) is handed its own.
"""

from collections.abc import Mapping
from dataclasses import fields


def settings_from_mapping(cls, data, where):
    """
    Build a settings dataclass from a mapping, refusing unknown keys.

    :param cls: the dataclass.
    :param data: setting -> value (lists become tuples); None or missing keys keep the
        dataclass's defaults.
    :param where: what the mapping is, to start the error message with.
    :return: an instance of `cls`.
    :raises ValueError: one line, for a non-mapping, an unknown key or a value
        `cls` refuses.
    """
    if data is None:
        return cls()
    if not isinstance(data, Mapping):
        raise ValueError(f'{where}: expected a mapping, got {type(data).__name__}')
    known = {item.name for item in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f'{where}: unknown keys {unknown}; known: {sorted(known)}')
    values = {key: tuple(value) if isinstance(value, list) else value
              for key, value in data.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise ValueError(f'{where}: {error}') from None


def own_settings(cls, settings, where):
    """
    Return a component's own settings, checked.

    :param cls: the component's settings dataclass, or None for one without settings.
    :param settings: None (the defaults), a mapping setting -> value (the others keep
        their defaults), or an instance of `cls`; never another component's.
    :param where: the component, e.g. 'adapter de', to start the error message with.
    :return: an instance of `cls`, or None when `cls` is None.
    :raises ValueError: one line, for an unknown setting, a value out of range or
        settings of another class.
    """
    if cls is None:
        if settings:
            raise ValueError(f'{where} has no settings, got {settings!r}')
        return None
    if isinstance(settings, cls):
        return settings
    if settings is not None and not isinstance(settings, Mapping):
        raise ValueError(f'{where}: settings must be a mapping or a {cls.__name__}, '
                         f'got {type(settings).__name__}')
    return settings_from_mapping(cls, settings, where)


def field_names(cls):
    """Return the field names of a settings dataclass (a tuple, empty for None)."""
    return tuple(item.name for item in fields(cls)) if cls is not None else ()
