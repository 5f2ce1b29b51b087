"""
Named state and action vectors, defined once and shared by every layer.

A `StateSpec` gives each entry of a state vector a name and a unit, and says which
entries the dynamics model does not take as input (absolute positions: the dynamics
do not depend on where the robot is). An `ActionSpec` does the same for commands and
adds their bounds.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class StateSpec:
    """Names and units of a state vector; the model ignores `model_input_excluded`."""

    names: tuple
    units: tuple
    model_input_excluded: tuple = ()

    def __post_init__(self):
        if len(self.names) != len(self.units):
            raise ValueError(f'{len(self.names)} names but {len(self.units)} units')
        if len(set(self.names)) != len(self.names):
            raise ValueError(f'duplicate state names in {self.names}')
        unknown = set(self.model_input_excluded) - set(self.names)
        if unknown:
            raise ValueError(f'model_input_excluded names unknown entries {sorted(unknown)}')

    @property
    def dim(self):
        """Return the number of entries."""
        return len(self.names)

    def index(self, name):
        """Return the position of one named entry."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f'no state entry {name!r}; entries are {self.names}') from None

    def indices(self, *names):
        """Return the positions of several named entries, in the order given."""
        return tuple(self.index(name) for name in names)

    @property
    def model_input_indices(self):
        """Return the positions of the entries the dynamics model takes as input."""
        excluded = set(self.model_input_excluded)
        return tuple(i for i, name in enumerate(self.names) if name not in excluded)

    def to_dict(self):
        """Return a plain dict (for checkpoints and YAML)."""
        return {'names': list(self.names), 'units': list(self.units),
                'model_input_excluded': list(self.model_input_excluded)}

    @classmethod
    def from_dict(cls, data):
        """Build a spec from `to_dict` output."""
        return cls(tuple(data['names']), tuple(data['units']),
                   tuple(data.get('model_input_excluded', ())))


@dataclass(frozen=True)
class ActionSpec:
    """Names, units and bounds of an action (command) vector."""

    names: tuple
    units: tuple
    low: tuple
    high: tuple

    def __post_init__(self):
        sizes = {len(self.names), len(self.units), len(self.low), len(self.high)}
        if len(sizes) != 1:
            raise ValueError('names, units, low and high must have the same length')
        for name, low, high in zip(self.names, self.low, self.high):
            if not low < high:
                raise ValueError(f'action {name!r}: low {low} is not below high {high}')

    @property
    def dim(self):
        """Return the number of entries."""
        return len(self.names)

    def to_dict(self):
        """Return a plain dict (for checkpoints and YAML)."""
        return {'names': list(self.names), 'units': list(self.units),
                'low': [float(v) for v in self.low], 'high': [float(v) for v in self.high]}

    @classmethod
    def from_dict(cls, data):
        """Build a spec from `to_dict` output."""
        return cls(tuple(data['names']), tuple(data['units']),
                   tuple(float(v) for v in data['low']), tuple(float(v) for v in data['high']))
