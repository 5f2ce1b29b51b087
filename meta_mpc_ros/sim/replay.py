"""
Render a recorded millirobot run: poses and joint angles put back into MuJoCo.

The demo's video comes from its rosbag, not from the live simulator, so recording a
video costs the running graph nothing and any bag (ours or a real robot's odometry and
joint states) can be watched. Each frame sets the free joint from the odometry pose and
the motor and leg joints from /joint_states, runs forward kinematics and renders with
the tracking camera; the world condition of the frame (from /meta_mpc/terrain) is
applied so that terrain changes are visible.
"""

from meta_mpc_ros.robots.millirobot import MOTOR_JOINTS
from meta_mpc_ros.sim.millirobot_model import LEG_JOINTS
from meta_mpc_ros.sim.millirobot_sim import MillirobotSim
import mujoco
import numpy as np


class ReplayFrame:
    """
    One frame to render.

    :param position: (3,) base position, m.
    :param orientation_xyzw: (4,) base orientation.
    :param joints: dict joint name -> angle (rad) for the motors and legs.
    :param condition: condition spec in force.
    """

    def __init__(self, position, orientation_xyzw, joints, condition):
        self.position = np.asarray(position, dtype=np.float64)
        self.orientation_xyzw = np.asarray(orientation_xyzw, dtype=np.float64)
        self.joints = dict(joints)
        self.condition = condition


def render_frames(frames, path_points=None, width=320, height=240, camera='track'):
    """
    Render replay frames.

    :param frames: iterable of ReplayFrame.
    :param path_points: optional (P, 2) reference path drawn on the ground.
    :return: list of (height, width, 3) uint8 images.
    """
    sim = MillirobotSim('carpet')
    layout = sim.layout
    images = []
    try:
        for frame in frames:
            if frame.condition and frame.condition != sim.condition:
                sim.set_condition(frame.condition)
            qpos = sim.data.qpos
            free = layout.free_qpos
            x, y, z, w = frame.orientation_xyzw
            qpos[free:free + 3] = frame.position
            qpos[free + 3:free + 7] = (w, x, y, z)
            for name, address in zip(MOTOR_JOINTS + LEG_JOINTS,
                                     layout.motor_qpos + layout.leg_qpos):
                if name in frame.joints:
                    qpos[address] = frame.joints[name]
            mujoco.mj_forward(sim.model, sim.data)
            images.append(sim.render(width=width, height=height, camera=camera,
                                     path=path_points))
    finally:
        sim.close()
    return images
