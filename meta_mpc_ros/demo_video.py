"""Render a recorded millirobot run from its rosbag into a GIF or MP4."""

import bisect
import pathlib

from meta_mpc_ros.data.bag_reader import load_messages
from meta_mpc_ros.ros import conversions
from meta_mpc_ros.sim.render import write_video
from meta_mpc_ros.sim.replay import render_frames, ReplayFrame

TOPICS = ('/odom', '/joint_states', '/meta_mpc/terrain', '/meta_mpc/reference')


def frames_from_bag(bag, fps=5.0):
    """
    Pick one replay frame per 1/fps s of sim time from a bag.

    :return: (list of ReplayFrame, reference path points (P, 2) or None)
    """
    messages, _ = load_messages([str(bag)], topics=TOPICS)
    joints, terrain, reference, frames = [], [], None, []
    for message in messages:
        if message.topic == '/joint_states':
            joints.append((conversions.stamp_to_seconds(message.message.header.stamp),
                           dict(zip(message.message.name, message.message.position))))
        elif message.topic == '/meta_mpc/terrain':
            terrain.append((message.timestamp_ns * 1e-9, message.message.data))
        elif message.topic == '/meta_mpc/reference' and reference is None:
            reference = conversions.read_path(message.message)[0]
    joint_times = [stamp for stamp, _ in joints]
    terrain_times = [stamp for stamp, _ in terrain]
    next_time = 0.0
    for message in messages:
        if message.topic != '/odom':
            continue
        try:
            position, orientation, _, _, stamp = conversions.read_odometry(message.message)
        except ValueError:
            continue
        if stamp < next_time or not joints:
            continue
        next_time = stamp + 1.0 / fps
        joint = joints[max(0, bisect.bisect_right(joint_times, stamp) - 1)][1]
        index = bisect.bisect_right(terrain_times, message.timestamp_ns * 1e-9) - 1
        condition = terrain[index][1] if index >= 0 else ''
        frames.append(ReplayFrame(position, orientation, joint, condition))
    return frames, reference


def video_from_bag(bag, path, fps=5.0, width=320, height=240):
    """Write the bag's run as a video (.gif or .mp4); return its path."""
    frames, reference = frames_from_bag(bag, fps)
    if not frames:
        raise ValueError(f'{bag}: no /odom with /joint_states to render')
    images = render_frames(frames, reference, width, height)
    write_video(images, path, fps=fps)
    return pathlib.Path(path)
