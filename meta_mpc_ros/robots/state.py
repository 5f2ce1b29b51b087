"""
How a robot's state vector is built from odometry and joint readings (no ROS here).

A robot declares its state as a tuple of `StateTerm`s, each one measured quantity:
a component of the base pose or twist as nav_msgs/Odometry carries it (position and
orientation in `odom`, velocities in `base_link`, REP-103/105), or the position or
velocity of a named joint of /joint_states. An angle term can enter as its cosine and
sine (two entries, `cos_<name>` and `sin_<name>`), so that the model never sees its
wrap-around. `StateLayout` turns the terms into the StateSpec and into the function
over plain arrays that the simulator, the state estimator and bag replay all call, so
the three give the same vectors.
"""

from dataclasses import dataclass
import math

from meta_mpc_ros.core.spaces import StateSpec
import numpy as np

# Where a term is read: the odometry fields (with their components) and the joints.
ODOMETRY_SOURCES = {
    'position': ('x', 'y', 'z'),
    'orientation': ('roll', 'pitch', 'yaw'),
    'linear_velocity': ('x', 'y', 'z'),
    'angular_velocity': ('x', 'y', 'z'),
}
JOINT_SOURCES = ('joint_position', 'joint_velocity')


@dataclass(frozen=True)
class StateTerm:
    """
    One measured quantity of the state.

    :param name: the entry's name (an angle term's entries are cos_<name>, sin_<name>).
    :param source: one of ODOMETRY_SOURCES or JOINT_SOURCES.
    :param component: the odometry component ('x', 'yaw'...) or the joint's name.
    :param unit: the entry's unit ('1' for the cosine and sine of an angle term).
    :param cos_sin: the quantity is an angle that enters as its cosine and sine.
    """

    name: str
    source: str
    component: str
    unit: str
    cos_sin: bool = False

    def __post_init__(self):
        if self.source in ODOMETRY_SOURCES:
            if self.component not in ODOMETRY_SOURCES[self.source]:
                raise ValueError(f'state term {self.name!r}: {self.source} has no component '
                                 f'{self.component!r}; it has {ODOMETRY_SOURCES[self.source]}')
        elif self.source not in JOINT_SOURCES:
            raise ValueError(f'state term {self.name!r}: source {self.source!r} is not one of '
                             f'{tuple(ODOMETRY_SOURCES) + JOINT_SOURCES}')

    @property
    def entries(self):
        """Return the names of the entries this term adds to the state."""
        return (f'cos_{self.name}', f'sin_{self.name}') if self.cos_sin else (self.name,)

    @property
    def units(self):
        """Return the units of this term's entries."""
        return ('1', '1') if self.cos_sin else (self.unit,)


# A planar base's pose from /odom: x and y in odom, yaw as its cosine and sine (the
# entries a description's `pose` names by default).
PLANAR_POSE = (
    StateTerm('x', 'position', 'x', 'm'),
    StateTerm('y', 'position', 'y', 'm'),
    StateTerm('yaw', 'orientation', 'yaw', 'rad', cos_sin=True),
)


def roll_pitch_yaw(quaternion_xyzw):
    """Return (roll, pitch, yaw) in rad (ZYX convention) of a unit quaternion (x, y, z, w)."""
    x, y, z, w = (float(v) for v in quaternion_xyzw)
    norm = math.sqrt(x * x + y * y + z * z + w * w)
    if not norm > 0.0 or not math.isfinite(norm):
        raise ValueError(f'invalid orientation quaternion {quaternion_xyzw}')
    x, y, z, w = x / norm, y / norm, z / norm, w / norm
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x))))
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return roll, pitch, yaw


class StateLayout:
    """
    A robot's state terms, as a StateSpec and as the function that builds the vector.

    :param terms: StateTerm tuple, in state order.
    :param joints: the measured joints' names, in the order the joint arrays given to
        `build` hold them (every joint term names one of them).
    :param model_input_excluded: entries the dynamics model does not take as input.
    """

    def __init__(self, terms, joints, model_input_excluded=()):
        self.terms = tuple(terms)
        self.joints = tuple(joints)
        unknown = [term.component for term in self.terms
                   if term.source in JOINT_SOURCES and term.component not in self.joints]
        if unknown:
            raise ValueError(f'state terms name joints {unknown} that are not among '
                             f'{self.joints}')
        self.spec = StateSpec(
            names=tuple(name for term in self.terms for name in term.entries),
            units=tuple(unit for term in self.terms for unit in term.units),
            model_input_excluded=tuple(model_input_excluded))
        self.reads_orientation = any(term.source == 'orientation' for term in self.terms)
        self._readers = tuple(self._reader(term) for term in self.terms)

    def _reader(self, term):
        """Return (argument index, component index, cos_sin) of one term."""
        if term.source in JOINT_SOURCES:
            return 4 + JOINT_SOURCES.index(term.source), self.joints.index(term.component), \
                term.cos_sin
        sources = tuple(ODOMETRY_SOURCES)
        return sources.index(term.source), \
            ODOMETRY_SOURCES[term.source].index(term.component), term.cos_sin

    def build(self, position, orientation_xyzw, linear_velocity, angular_velocity,
              joint_positions, joint_velocities):
        """
        Assemble the state vector from measurements.

        :param position: (3,) base position in odom, m.
        :param orientation_xyzw: (4,) base orientation quaternion in odom.
        :param linear_velocity: (3,) base linear velocity in base_link, m/s.
        :param angular_velocity: (3,) base angular velocity in base_link, rad/s.
        :param joint_positions: (J,) positions of `joints`, rad (or m).
        :param joint_velocities: (J,) velocities of `joints`.
        :return: (nx,) float64 array ordered as `spec.names`.
        :raises ValueError: for an invalid quaternion, wrong sizes or a non-finite state.
        """
        rpy = roll_pitch_yaw(orientation_xyzw) if self.reads_orientation else (0.0,) * 3
        sources = [np.asarray(values, dtype=np.float64).reshape(3)
                   for values in (position, linear_velocity, angular_velocity)]
        sources.insert(1, rpy)
        sources += [np.asarray(values, dtype=np.float64).reshape(len(self.joints))
                    for values in (joint_positions, joint_velocities)]
        values = []
        for source, component, cos_sin in self._readers:
            value = float(sources[source][component])
            values += (math.cos(value), math.sin(value)) if cos_sin else (value,)
        state = np.array(values, dtype=np.float64)
        if not np.all(np.isfinite(state)):
            raise ValueError(f'non-finite state {state}')
        return state
