"""
meta_mpc_ros: meta-learned online-adaptive model-predictive control for legged robots.

Layers (see CONTRIBUTING.md):
    core/  torch and numpy only: models, adapters, meta-training, planners, buffers.
    sim/   MuJoCo robots and conditions behind a gymnasium API.
    data/  rosbag2 reading and writing, datasets of windows.
    ros/   thin rclpy nodes that convert messages, call the core and publish.
"""

__version__ = '0.1.0'
