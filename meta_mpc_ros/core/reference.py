"""
Reference paths for trajectory-following tasks, and the task cost.

The paper's path-following tasks follow a straight line, a left turn, a zig-zag or a
figure-8. Following Nagabandi et al., the per-step cost penalises the perpendicular
distance from the path and the heading error, and rewards progress along it:

    cost_t = w_distance * distance_t + w_heading * |heading_error_t| - w_progress * progress_t

with distance in m, heading error in rad and progress in m per control step. A
`PathTracker` keeps the index of the path point the robot has reached, so that a path
that crosses itself (the figure-8) is projected onto the right branch.
"""

from dataclasses import dataclass
import math

import numpy as np

TASKS = ('straight', 'left_turn', 'zigzag', 'figure8')


@dataclass(frozen=True)
class TaskCostWeights:
    """Weights of the trajectory-following cost (see module docstring)."""

    distance: float = 1.0
    heading: float = 0.1
    progress: float = 1.0


class ReferencePath:
    """A polyline path with headings and arc length; points (P, 2) in the odom frame, m."""

    def __init__(self, points, name='custom', closed=False):
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2:
            raise ValueError(f'a path needs (P >= 2, 2) points, got {points.shape}')
        if not np.all(np.isfinite(points)):
            raise ValueError('path points must be finite')
        self.name = name
        self.closed = closed
        self.points = points
        segments = np.diff(points, axis=0)
        lengths = np.linalg.norm(segments, axis=1)
        if np.any(lengths <= 0.0):
            raise ValueError('path has repeated consecutive points')
        self.arclength = np.concatenate([[0.0], np.cumsum(lengths)])
        headings = np.arctan2(segments[:, 1], segments[:, 0])
        self.headings = np.concatenate([headings, headings[-1:]])

    @property
    def length(self):
        """Return the total arc length, m."""
        return float(self.arclength[-1])

    @classmethod
    def make(cls, task, scale=1.0, spacing=0.01):
        """
        Build one of the paper's tasks, starting at the origin.

        straight, left_turn and figure8 start heading along +x; the zig-zag's first leg
        heads 45 degrees to the left.

        :param task: one of TASKS.
        :param scale: size of the path in m (half the line length, the turn radius, the
            zig-zag leg or the figure-8 lobe radius; see each shape).
        :param spacing: distance between consecutive points, m.
        :return: ReferencePath
        """
        if task not in TASKS:
            raise ValueError(f'unknown task {task!r}; choose one of {TASKS}')
        if not scale > 0.0 or not spacing > 0.0:
            raise ValueError('scale and spacing must be positive')
        if task == 'straight':
            # A line of 2 * scale metres along +x.
            s = np.arange(0.0, 2.0 * scale + spacing / 2, spacing)
            points = np.stack([s, np.zeros_like(s)], axis=1)
        elif task == 'left_turn':
            # scale/2 straight, a quarter circle of radius scale to the left, scale/2 on.
            straight = np.arange(0.0, 0.5 * scale, spacing)
            angles = np.arange(0.0, math.pi / 2, spacing / scale)
            arc = np.stack([0.5 * scale + scale * np.sin(angles),
                            scale * (1.0 - np.cos(angles))], axis=1)
            after = np.arange(0.0, 0.5 * scale + spacing / 2, spacing)
            points = np.concatenate([
                np.stack([straight, np.zeros_like(straight)], axis=1), arc,
                np.stack([np.full_like(after, 1.5 * scale), scale + after], axis=1)])
        elif task == 'zigzag':
            # Four legs of length scale at +-45 degrees.
            corners = [(0.0, 0.0)]
            for leg in range(4):
                sign = 1.0 if leg % 2 == 0 else -1.0
                x, y = corners[-1]
                corners.append((x + scale * math.sqrt(0.5), y + sign * scale * math.sqrt(0.5)))
            points = _polyline(np.array(corners), spacing)
        else:
            # Two circles of radius scale, touching at the origin: left lobe first.
            angles = np.arange(0.0, 2.0 * math.pi, spacing / scale)
            left = np.stack([scale * np.sin(angles), scale * (1.0 - np.cos(angles))], axis=1)
            right = np.stack([scale * np.sin(angles), -scale * (1.0 - np.cos(angles))], axis=1)
            points = np.concatenate([left, right, [[0.0, 0.0]]])
            points = points[np.concatenate([[True], np.any(np.diff(points, axis=0) != 0, 1)])]
        return cls(points, name=task, closed=(task == 'figure8'))

    def to_dict(self):
        """Return a plain dict (for YAML and messages)."""
        return {'name': self.name, 'closed': self.closed, 'points': self.points.tolist()}


def _polyline(corners, spacing):
    """Return points every `spacing` m along straight segments between corners."""
    pieces = []
    for start, end in zip(corners[:-1], corners[1:]):
        length = np.linalg.norm(end - start)
        # Stop half a spacing short of the corner, so rounding never repeats it.
        steps = np.arange(0.0, length - 0.5 * spacing, spacing) / length
        pieces.append(start + steps[:, None] * (end - start))
    pieces.append(corners[-1:])
    return np.concatenate(pieces)


def wrap_angle(angle):
    """Wrap angles (any shape) to [-pi, pi)."""
    return (np.asarray(angle) + math.pi) % (2.0 * math.pi) - math.pi


class PathTracker:
    """
    Follow a robot along a ReferencePath and score each control step.

    The tracker searches for the nearest path point only within `search_window_m`
    ahead of (and a little behind) the point reached so far, so crossings and loops
    are resolved by history, as a human follower would. A closed path (the figure-8)
    can be followed for several `laps`, as one path laid out lap after lap.
    """

    def __init__(self, path, weights=TaskCostWeights(), search_window_m=0.5, laps=1):
        if laps < 1:
            raise ValueError('laps must be >= 1')
        if laps > 1 and path.closed:
            points = np.concatenate([path.points] + [path.points[1:]] * (laps - 1))
            path = ReferencePath(points, name=path.name, closed=False)
        self.path = path
        self.weights = weights
        self.search_window_m = search_window_m
        self.index = 0

    def reset(self):
        """Start again from the beginning of the path."""
        self.index = 0

    def _candidates(self):
        """Return path indices to search: a little behind to `search_window_m` ahead."""
        along = self.path.arclength
        here = along[self.index]
        low = np.searchsorted(along, here - 0.1 * self.search_window_m)
        high = np.searchsorted(along, here + self.search_window_m, side='right')
        return np.arange(low, max(high, low + 1))

    def project(self, position):
        """
        Project a position onto the path near the tracked point and advance it.

        :param position: (2,) x, y in m.
        :return: (index, distance): nearest path index and the distance to it, m.
        """
        candidates = self._candidates()
        offsets = self.path.points[candidates] - np.asarray(position, dtype=np.float64)[:2]
        nearest = candidates[int(np.argmin(np.einsum('ij,ij->i', offsets, offsets)))]
        self.index = int(max(self.index, nearest))
        distance = float(np.linalg.norm(self.path.points[nearest] - position[:2]))
        return int(nearest), distance

    def step_cost(self, position, yaw):
        """
        Score one control step and advance along the path.

        :param position: (2,) x, y after the step, m.
        :param yaw: heading after the step, rad.
        :return: dict with cost, distance (m), heading_error (rad), progress (m).
        """
        before = self.path.arclength[self.index]
        index, distance = self.project(position)
        heading_error = float(wrap_angle(yaw - self.path.headings[index]))
        progress = float(self.path.arclength[self.index] - before)
        cost = (self.weights.distance * distance
                + self.weights.heading * abs(heading_error)
                - self.weights.progress * progress)
        return {'cost': cost, 'distance': distance, 'heading_error': heading_error,
                'progress': progress, 'index': self.index}

    def local_segment(self, lookahead_m):
        """
        Return the path ahead of the tracked point, for a planner's cost.

        :param lookahead_m: how far ahead, m.
        :return: (points (L, 2), headings (L,), arclength (L,)) with arclength measured
            from the tracked point; L >= 2.
        """
        along = self.path.arclength
        end = np.searchsorted(along, along[self.index] + lookahead_m, side='right')
        end = min(max(end, self.index + 2), len(along))
        start = min(self.index, end - 2)
        return (self.path.points[start:end], self.path.headings[start:end],
                along[start:end] - along[self.index])

    @property
    def finished(self):
        """Return True once the robot has reached the end of the path."""
        return self.index >= len(self.path.points) - 1
