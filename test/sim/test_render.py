"""Offscreen rendering of the millirobot and videos of frames (MUJOCO_GL=egl headless)."""

import imageio.v2 as imageio
from meta_mpc_ros.sim.millirobot_env import MillirobotEnv
from meta_mpc_ros.sim.millirobot_sim import MillirobotSim
from meta_mpc_ros.sim.render import write_video
import numpy as np
import pytest


def shell_pixels(frame):
    """Count pixels of the robot's orange shell (rgb 0.85, 0.45, 0.1 under light)."""
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return int(np.sum((r > 120) & (r > g + 40) & (g > b + 30)))


def path_pixels(frame):
    """Count pixels of the red reference path (rgb 0.95, 0.2, 0.2)."""
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return int(np.sum((r > 120) & (g < 0.5 * r) & (b < 0.5 * r) & (abs(g - b) < 30)))


@pytest.fixture(scope='module')
def sim():
    simulator = MillirobotSim('carpet', seed=0)
    yield simulator
    simulator.close()


def test_frame_is_not_blank_and_shows_the_robot(sim):
    frame = sim.render(width=320, height=240)
    assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8
    assert frame.std() > 10.0
    # The tracking camera looks at the robot from 0.45 m: its shell fills part of the image.
    assert shell_pixels(frame) > 500
    # Hiding the robot's visual geoms (group 1) takes the shell away.
    hidden = sim.model.geom_rgba.copy()
    sim.model.geom_rgba[sim.model.geom_group == 1, 3] = 0.0
    try:
        assert shell_pixels(sim.render(width=320, height=240)) < 20
    finally:
        sim.model.geom_rgba[:] = hidden


def test_terrain_changes_reach_the_renderer(sim):
    sim.set_condition('styrofoam')      # flat: the mat is off, the floor is the grid plane
    flat = sim.render(width=160, height=120, camera='top')
    sim.set_condition('novel_terrain')  # bumpy mat
    bumpy = sim.render(width=160, height=120, camera='top')
    assert np.abs(flat.astype(int) - bumpy.astype(int)).mean() > 5.0
    sim.set_condition('carpet')
    with pytest.raises(ValueError, match='camera'):
        sim.render(camera='side')


def test_env_renders_the_robot_and_its_path():
    env = MillirobotEnv(task='figure8', render_mode='rgb_array', render_width=200,
                        render_height=160)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (160, 200, 3) and frame.dtype == np.uint8
    assert path_pixels(frame) > 100 and shell_pixels(frame) > 100
    env.close()
    assert MillirobotEnv(task='straight').render() is None


@pytest.mark.parametrize('suffix', ['.gif', '.mp4'])
def test_videos_round_trip(tmp_path, suffix):
    frames = [np.full((48, 64, 3), 40 * i, dtype=np.uint8) for i in range(5)]
    path = write_video(frames, tmp_path / f'clip{suffix}', fps=10)
    read = imageio.mimread(path)
    assert len(read) == 5
    assert read[0].shape[:2] == (48, 64)
    # Flat grey frames survive compression to within a few levels.
    assert abs(int(np.asarray(read[3])[..., :3].mean()) - 120) < 8


def test_videos_reject_bad_input(tmp_path):
    with pytest.raises(ValueError, match='no frames'):
        write_video([], tmp_path / 'x.gif')
    with pytest.raises(ValueError, match='suffix'):
        write_video([np.zeros((8, 8, 3), np.uint8)], tmp_path / 'x.avi')
    with pytest.raises(ValueError, match='one size'):
        write_video([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 6, 3), np.uint8)],
                    tmp_path / 'x.gif')
