"""
The differential-drive base's world conditions: floor, load, tyres, motors and slope.

A `DriveCondition` is a frozen set of physical parameters; a spec string writes it as
comma-separated parts applied left to right from the `carpet` floor, each a preset
name or key=value:

    carpet
    tile,payload_kg=1.5
    carpet,tyre_scale_right=0.85,slope_deg=3

Training floors (`TRAINING_CONDITIONS`: carpet, tile, wood) and their seeded variation
(`sample_training_condition`) are what the shipped models learn on; the held-out
conditions (`TEST_CONDITIONS`) lie outside that distribution in kind or magnitude: a
wet floor on which the wheels slip, a heavy payload, a soft tyre on one side, a motor
bias and a slope. sim_node's `condition` and `schedule` parameters (the graph's
`terrain_schedule`) take the same specs.

No MuJoCo here: sim.diff_drive_sim applies a condition to its model.
"""

import dataclasses
from dataclasses import dataclass
import math

# Largest wheel-rate bias, rad/s (about a fifth of the base's top wheel rate).
MAX_MOTOR_BIAS = 3.0


@dataclass(frozen=True)
class DriveCondition:
    """
    Physical parameters of the base's world; the defaults are the carpet floor.

    `friction`: the wheels' sliding friction on the floor (low: they slip).
    `rolling_resistance`: torque (N m) each wheel loses to the floor (carpet pile).
    `payload_kg`: mass carried on the base (its inertia unchanged).
    `tyre_scale_left`, `tyre_scale_right`: each wheel's rolling radius as a fraction of
    the nominal one (a soft or worn tyre; the driver still assumes the nominal).
    `motor_bias_left`, `motor_bias_right`: rad/s added to each wheel's setpoint (a
    miscalibrated motor loop). `slope_deg` (uphill angle) towards `slope_dir_deg`
    (0 = +x of odom), modelled by tilting gravity.
    """

    friction: float = 1.0
    rolling_resistance: float = 0.004
    payload_kg: float = 0.0
    tyre_scale_left: float = 1.0
    tyre_scale_right: float = 1.0
    motor_bias_left: float = 0.0
    motor_bias_right: float = 0.0
    slope_deg: float = 0.0
    slope_dir_deg: float = 0.0

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not math.isfinite(value):
                raise ValueError(f'{field.name} must be a finite number, got {value!r}')
            low, high = BOUNDS[field.name]
            if not low <= value <= high:
                raise ValueError(f'{field.name}={value} is outside [{low}, {high}]')
            object.__setattr__(self, field.name, float(value))
        if math.tan(math.radians(abs(self.slope_deg))) >= self.friction:
            raise ValueError(f'slope_deg={self.slope_deg} is too steep for friction='
                             f'{self.friction}: tan(slope) must be below the friction')

    def replace(self, **changes):
        """Return a copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def to_spec(self):
        """
        Return the canonical spec string.

        It names the preset nearest (fewest fields changed, the first in PRESETS
        order), then the changed fields in declaration order, so that
        `parse_condition(c.to_spec()) == c`.
        """
        def changes(preset):
            return [(name, value) for name, value in dataclasses.asdict(self).items()
                    if value != getattr(preset, name)]
        name = min(PRESETS, key=lambda key: len(changes(PRESETS[key])))
        return ','.join([name] + [f'{key}={value!r}' for key, value in changes(PRESETS[name])])


BOUNDS = {
    'friction': (0.02, 2.0),
    'rolling_resistance': (0.0, 0.05),
    'payload_kg': (0.0, 5.0),
    'tyre_scale_left': (0.7, 1.3),
    'tyre_scale_right': (0.7, 1.3),
    'motor_bias_left': (-MAX_MOTOR_BIAS, MAX_MOTOR_BIAS),
    'motor_bias_right': (-MAX_MOTOR_BIAS, MAX_MOTOR_BIAS),
    'slope_deg': (-10.0, 10.0),
    'slope_dir_deg': (-360.0, 360.0),
}

CARPET = DriveCondition()
PRESETS = {
    # Training floors: carpet (grippy, some pile), tile (smooth, less grip), wood.
    'carpet': CARPET,
    'tile': CARPET.replace(friction=0.6, rolling_resistance=0.001),
    'wood': CARPET.replace(friction=0.8, rolling_resistance=0.002),
    # Held-out conditions, each on carpet.
    'wet_floor': CARPET.replace(friction=0.06, rolling_resistance=0.001),
    'payload': CARPET.replace(payload_kg=3.0),
    'soft_tyre': CARPET.replace(tyre_scale_right=0.85),
    'motor_bias': CARPET.replace(motor_bias_left=-1.5),
    'slope': CARPET.replace(slope_deg=6.0, slope_dir_deg=90.0),
}
TRAINING_CONDITIONS = ('carpet', 'tile', 'wood')
TEST_CONDITIONS = ('wet_floor', 'payload', 'soft_tyre', 'motor_bias', 'slope')

# The training distribution: a training floor, its grip scaled, and the small day-to-day
# variation of a base (a bag on it, tyre wear, motor drift, a ramp), each drawn
# uniformly. The held-out conditions lie outside every range
# (test/sim/test_diff_drive_sim.py checks it).
TRAINING_DISTRIBUTION = {
    'friction_factor': (0.7, 1.3),
    'payload_kg': (0.0, 0.5),
    'tyre_scale': (0.97, 1.03),       # per side
    'motor_bias': (-0.3, 0.3),        # rad/s, per side
    'slope_deg': (0.0, 2.0),
    'slope_dir_deg': (-180.0, 180.0),
}


def parse_condition(condition):
    """
    Parse a condition spec (or pass a DriveCondition through).

    :param condition: comma-separated parts, each a PRESETS name (which sets the
        fields it changes relative to carpet, so presets combine) or key=value of a
        DriveCondition field; they apply left to right from carpet.
    :return: DriveCondition
    :raises ValueError: naming the malformed part, the unknown name or the bad value.
    """
    if isinstance(condition, DriveCondition):
        return condition
    if not isinstance(condition, str) or not condition.strip():
        raise ValueError(f'a condition spec must be a non-empty string, got {condition!r}; '
                         f'presets are {", ".join(PRESETS)}')
    values = dataclasses.asdict(CARPET)
    for part in (piece.strip() for piece in condition.split(',')):
        key, equals, text = (piece.strip() for piece in part.partition('='))
        if not equals:
            if part not in PRESETS:
                raise ValueError(f'unknown condition {part!r}; presets are '
                                 f'{", ".join(PRESETS)}')
            values.update({name: value for name, value in dataclasses.asdict(
                PRESETS[part]).items() if value != getattr(CARPET, name)})
        elif key not in values:
            raise ValueError(f'unknown condition key {key!r} in {part!r}; keys are '
                             f'{", ".join(values)}')
        else:
            try:
                values[key] = float(text)
            except ValueError:
                raise ValueError(f'condition part {part!r}: {text!r} is not a number') from None
    try:
        return DriveCondition(**values)
    except ValueError as error:
        raise ValueError(f'condition spec {condition!r}: {error}') from None


def sample_training_condition(rng):
    """
    Draw one training condition from TRAINING_DISTRIBUTION.

    :param rng: numpy.random.Generator.
    :return: canonical spec string.
    """
    def draw(key):
        return round(float(rng.uniform(*TRAINING_DISTRIBUTION[key])), 3)

    floor = PRESETS[TRAINING_CONDITIONS[int(rng.integers(len(TRAINING_CONDITIONS)))]]
    return floor.replace(
        friction=round(floor.friction * draw('friction_factor'), 3),
        payload_kg=draw('payload_kg'), tyre_scale_left=draw('tyre_scale'),
        tyre_scale_right=draw('tyre_scale'), motor_bias_left=draw('motor_bias'),
        motor_bias_right=draw('motor_bias'), slope_deg=draw('slope_deg'),
        slope_dir_deg=draw('slope_dir_deg')).to_spec()
