"""
Task conditions of the legged benchmarks: parsing, canonical specs and task distributions.

A condition spec is one `key=value` assignment (the empty string or `nominal` means the
unperturbed model). Each family parses its specs into a frozen dataclass whose
`to_spec()` gives the canonical string, so that `parse(c.to_spec()) == c`.

Task distributions follow the official code (iclavera/learning_to_adapt, `envs/`):

- half-cheetah, disabled joint: training joints 1..5 (`np.random.randint(1, 6)`),
  joint 0 (bthigh) held out.
- half-cheetah, hills: training terrains are random ramps (seeded here), test terrains
  are the named `hill`, `basin`, `gentle` and `steep` profiles.
- half-cheetah, pier: block damping drawn uniformly in [0, 10) per block; the test task
  is one fixed draw (seed 0, which training never samples), as in the paper's "specific
  randomly-selected configuration".
- ant, crippled leg: training legs 0..2, leg 3 held out.
"""

from dataclasses import dataclass

import numpy as np

NOMINAL = 'nominal'
# Seeds drawn for training tasks lie in [1, SEED_LIMIT); seed 0 is kept for tests.
SEED_LIMIT = 2 ** 31 - 1


def split_assignment(spec, keys):
    """
    Split a condition spec into its key and value.

    :param spec: str, `key=value`, '' or 'nominal'.
    :param keys: tuple of the keys this family accepts.
    :return: None for the nominal condition, else (key, value) as stripped strings.
    """
    if not isinstance(spec, str):
        raise TypeError(f'condition spec must be a str, not {type(spec).__name__}')
    text = spec.strip()
    if text in ('', NOMINAL):
        return None
    if text.count('=') != 1:
        raise ValueError(f'condition spec {spec!r} is not of the form key=value '
                         f'(keys: {", ".join(keys)})')
    key, value = (part.strip() for part in text.split('='))
    if key not in keys:
        raise ValueError(f'unknown condition key {key!r} in {spec!r}; '
                         f'expected one of {", ".join(keys)}')
    if not value:
        raise ValueError(f'condition key {key!r} has no value in {spec!r}')
    return key, value


def check_index(key, value, count):
    """
    Check that a task parameter is an integer in [0, count) (bool and float are refused).

    :param key: name of the parameter, for the error message.
    :param value: the value to check.
    :param count: number of allowed values.
    :return: the value as int.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f'{key}: {value!r} is not an integer')
    if not 0 <= value < count:
        raise ValueError(f'{key}: {value} is outside [0, {count - 1}]')
    return int(value)


def parse_index(key, value, low, high):
    """
    Parse a decimal integer in [low, high].

    :param key: name of the key, for the error message.
    :param value: str, the text to parse.
    :param low: smallest allowed value.
    :param high: largest allowed value.
    :return: int.
    """
    if not value.isdigit():
        raise ValueError(f'{key}: {value!r} is not a non-negative integer')
    index = int(value)
    if not low <= index <= high:
        raise ValueError(f'{key}: {index} is outside [{low}, {high}]')
    return index


@dataclass(frozen=True)
class DisabledJoint:
    """Half-cheetah task: the actuator of joint `joint` (0..5, bthigh..ffoot) is off."""

    joint: object = None

    KEY = 'disabled_joint'
    NUM_JOINTS = 6

    def __post_init__(self):
        if self.joint is not None:
            object.__setattr__(self, 'joint', check_index(self.KEY, self.joint, self.NUM_JOINTS))

    @classmethod
    def parse(cls, spec):
        """Parse `disabled_joint=<0..5>` (or '' / 'nominal')."""
        parts = split_assignment(spec, (cls.KEY,))
        if parts is None:
            return cls()
        return cls(parse_index(cls.KEY, parts[1], 0, cls.NUM_JOINTS - 1))

    def to_spec(self):
        """Return the canonical spec string."""
        return NOMINAL if self.joint is None else f'{self.KEY}={self.joint}'


@dataclass(frozen=True)
class CrippledLeg:
    """Ant task: leg `leg` (0..3, the official numbering) has no torque and is shortened."""

    leg: object = None

    KEY = 'crippled_leg'
    NUM_LEGS = 4

    def __post_init__(self):
        if self.leg is not None:
            object.__setattr__(self, 'leg', check_index(self.KEY, self.leg, self.NUM_LEGS))

    @classmethod
    def parse(cls, spec):
        """Parse `crippled_leg=<0..3>` (or '' / 'nominal')."""
        parts = split_assignment(spec, (cls.KEY,))
        if parts is None:
            return cls()
        return cls(parse_index(cls.KEY, parts[1], 0, cls.NUM_LEGS - 1))

    def to_spec(self):
        """Return the canonical spec string."""
        return NOMINAL if self.leg is None else f'{self.KEY}={self.leg}'


@dataclass(frozen=True)
class Terrain:
    """Half-cheetah hills task: a named test profile or a seeded random training profile."""

    name: str = 'flat'
    seed: object = None

    NAMES = ('flat', 'hill', 'basin', 'gentle', 'steep', 'random')
    KEY = 'terrain'
    SEED_KEY = 'terrain_seed'

    def __post_init__(self):
        if self.name not in self.NAMES:
            raise ValueError(f'{self.KEY}: unknown terrain {self.name!r}; '
                             f'expected one of {", ".join(self.NAMES)}')
        if (self.name == 'random') != (self.seed is not None):
            raise ValueError('a terrain seed goes with the random terrain and only with it')
        if self.seed is not None:
            object.__setattr__(self, 'seed', check_index(self.SEED_KEY, self.seed, SEED_LIMIT))

    @classmethod
    def parse(cls, spec):
        """Parse `terrain=<hill|basin|gentle|steep|flat>` or `terrain_seed=<int>`."""
        parts = split_assignment(spec, (cls.KEY, cls.SEED_KEY))
        if parts is None:
            return cls()
        key, value = parts
        if key == cls.SEED_KEY:
            return cls('random', parse_index(key, value, 0, SEED_LIMIT - 1))
        if value == 'random':
            raise ValueError(f'random terrain needs a seed: write {cls.SEED_KEY}=<int>')
        return cls(value)

    def to_spec(self):
        """Return the canonical spec string."""
        if self.name == 'flat':
            return NOMINAL
        if self.name == 'random':
            return f'{self.SEED_KEY}={self.seed}'
        return f'{self.KEY}={self.name}'


@dataclass(frozen=True)
class PierDamping:
    """Half-cheetah pier task: per-block damping drawn from `seed`; None is the XML's."""

    seed: object = None

    KEY = 'pier_damping_seed'
    NUM_BLOCKS = 8
    # Official: damping[:8] = np.random.uniform(0, 10, size=8), in N s/m.
    DAMPING_RANGE = (0.0, 10.0)

    def __post_init__(self):
        if self.seed is not None:
            object.__setattr__(self, 'seed', check_index(self.KEY, self.seed, SEED_LIMIT))

    @classmethod
    def parse(cls, spec):
        """Parse `pier_damping_seed=<int>` (or '' / 'nominal')."""
        parts = split_assignment(spec, (cls.KEY,))
        if parts is None:
            return cls()
        return cls(parse_index(cls.KEY, parts[1], 0, SEED_LIMIT - 1))

    def to_spec(self):
        """Return the canonical spec string."""
        return NOMINAL if self.seed is None else f'{self.KEY}={self.seed}'

    def dampings(self):
        """
        Return the damping of each block's slide joint, or None for the nominal model.

        :return: (8,) float64 array in N s/m, or None.
        """
        if self.seed is None:
            return None
        rng = np.random.default_rng(self.seed)
        return rng.uniform(*self.DAMPING_RANGE, size=self.NUM_BLOCKS)


DISABLED_JOINT_TRAINING = tuple(DisabledJoint(j).to_spec() for j in range(1, 6))
DISABLED_JOINT_TEST = (DisabledJoint(0).to_spec(),)
CRIPPLED_LEG_TRAINING = tuple(CrippledLeg(leg).to_spec() for leg in range(3))
CRIPPLED_LEG_TEST = (CrippledLeg(3).to_spec(),)
HILLS_TEST = tuple(Terrain(name).to_spec() for name in ('hill', 'basin', 'gentle', 'steep'))
PIER_TEST = (PierDamping(0).to_spec(),)


def sample_from(specs, rng):
    """
    Draw one spec uniformly from a finite list.

    :param specs: tuple of spec strings.
    :param rng: numpy.random.Generator.
    :return: str.
    """
    return specs[int(rng.integers(len(specs)))]


def sample_seeded(make, rng):
    """
    Draw a training seed in [1, SEED_LIMIT) (seed 0 is a test task) and return its spec.

    :param make: callable mapping an int seed to a condition dataclass.
    :param rng: numpy.random.Generator.
    :return: str.
    """
    return make(int(rng.integers(1, SEED_LIMIT))).to_spec()
