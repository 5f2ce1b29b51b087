"""
Offscreen rendering of the millirobot's scene, and videos of rendered frames.

Headless machines render through EGL: set MUJOCO_GL=egl before mujoco is imported.
"""

import math
import pathlib

import mujoco
import numpy as np

PATH_RGBA = (0.95, 0.2, 0.2, 0.9)
PATH_WIDTH = 0.004           # m, radius of the drawn reference path
PATH_MAX_SEGMENTS = 400
CAMERAS = ('track', 'top')


class SceneRenderer:
    """
    A mujoco.Renderer with cameras that follow the robot and a reference-path overlay.

    The renderer's GPU copy of the terrain mat is refreshed when the world's terrain
    changes (the renderer is rebuilt, which works on every MuJoCo 3.x).
    """

    def __init__(self, model, world, height, width):
        """
        Create the offscreen context.

        :param model: mujoco.MjModel (its vis.global_.offwidth/offheight bound the size).
        :param world: World whose `terrain_key` tells when the heightfield changed.
        :param height: image height, px.
        :param width: image width, px.
        """
        if not (0 < width <= model.vis.global_.offwidth
                and 0 < height <= model.vis.global_.offheight):
            raise ValueError(f'render size {width}x{height} must be within '
                             f'{model.vis.global_.offwidth}x{model.vis.global_.offheight}')
        self.model = model
        self.world = world
        self.size = (height, width)
        self._renderer = mujoco.Renderer(model, height, width)
        self._terrain_key = world.terrain_key
        self._camera = mujoco.MjvCamera()
        self._camera.type = mujoco.mjtCamera.mjCAMERA_FREE

    def _aim(self, data, body, camera):
        """Point the free camera at the body."""
        if camera not in CAMERAS:
            raise ValueError(f'unknown camera {camera!r}; choose one of {CAMERAS}')
        self._camera.lookat[:] = data.xpos[body]
        if camera == 'track':
            self._camera.distance, self._camera.azimuth, self._camera.elevation = (
                0.45, 135.0, -30.0)
        else:
            self._camera.distance, self._camera.azimuth, self._camera.elevation = (
                2.5, 90.0, -89.0)

    def render(self, data, body, camera='track', path=None):
        """
        Render one frame.

        :param data: mujoco.MjData to draw.
        :param body: id of the body the camera follows.
        :param camera: one of CAMERAS.
        :param path: optional (P, 2) points drawn as a line on the ground.
        :return: (height, width, 3) uint8 array.
        """
        if self.world.terrain_key != self._terrain_key:
            self._renderer.close()
            self._renderer = mujoco.Renderer(self.model, *self.size)
            self._terrain_key = self.world.terrain_key
        self._aim(data, body, camera)
        self._renderer.update_scene(data, camera=self._camera)
        if path is not None:
            _draw_path(self._renderer.scene, np.asarray(path, dtype=np.float64),
                       height=self.world.ground_height(*data.xpos[body][:2]))
        return self._renderer.render()

    def close(self):
        """Free the offscreen context."""
        self._renderer.close()


def _draw_path(scene, points, height):
    """Append the path to the scene as thin capsules lying on the ground."""
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2:
        raise ValueError(f'path must be (P >= 2, 2) points, got {points.shape}')
    stride = max(1, int(math.ceil((len(points) - 1) / PATH_MAX_SEGMENTS)))
    points = points[::stride]
    z = height + PATH_WIDTH
    for start, end in zip(points[:-1], points[1:]):
        if scene.ngeom >= scene.maxgeom:
            break
        delta = end - start
        length = float(np.hypot(*delta))
        if length == 0.0:
            continue
        # The capsule's z axis lies along the segment: x' = up x z', y' = z' x x'.
        axis_z = np.array([delta[0], delta[1], 0.0]) / length
        axis_x = np.array([-axis_z[1], axis_z[0], 0.0])
        rotation = np.column_stack([axis_x, np.cross(axis_z, axis_x), axis_z])
        centre = [0.5 * (start[0] + end[0]), 0.5 * (start[1] + end[1]), z]
        mujoco.mjv_initGeom(scene.geoms[scene.ngeom], int(mujoco.mjtGeom.mjGEOM_CAPSULE),
                            np.array([PATH_WIDTH, 0.5 * length, 0.0]), np.array(centre),
                            rotation.ravel(), np.array(PATH_RGBA, dtype=np.float32))
        scene.ngeom += 1


def write_video(frames, path, fps=10):
    """
    Write frames to an MP4 (imageio-ffmpeg) or an animated GIF (pillow).

    :param frames: sequence of (H, W, 3) uint8 arrays, all the same size.
    :param path: output file; its suffix (.mp4 or .gif) picks the format.
    :param fps: frames per second.
    :return: pathlib.Path of the file written.
    """
    import imageio.v2 as imageio
    path = pathlib.Path(path)
    frames = [np.asarray(frame) for frame in frames]
    if not frames:
        raise ValueError('no frames to write')
    shape = frames[0].shape
    if len(shape) != 3 or shape[2] != 3 or any(f.shape != shape for f in frames):
        raise ValueError('frames must all be (H, W, 3) arrays of one size')
    if not fps > 0:
        raise ValueError(f'fps must be positive, got {fps}')
    frames = [f.astype(np.uint8, copy=False) for f in frames]
    suffix = path.suffix.lower()
    if suffix == '.gif':
        imageio.mimsave(path, frames, format='GIF', duration=1000.0 / fps, loop=0)
    elif suffix == '.mp4':
        # H.264 in yuv420p needs even sizes: crop a trailing row or column if odd.
        height, width = shape[0] - shape[0] % 2, shape[1] - shape[1] % 2
        with imageio.get_writer(path, format='FFMPEG', fps=fps, codec='libx264',
                                macro_block_size=1, quality=7) as writer:
            for frame in frames:
                writer.append_data(np.ascontiguousarray(frame[:height, :width]))
    else:
        raise ValueError(f'unsupported video suffix {path.suffix!r}; use .mp4 or .gif')
    return path
