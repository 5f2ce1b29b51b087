"""Build and install the meta_mpc_ros ament_python package (colcon or pip)."""

from glob import glob
import os

from setuptools import find_packages, setup

PACKAGE = 'meta_mpc_ros'

# Node executables: name -> module. Each module defines main(args=None).
NODES = {
    'sim_node': 'meta_mpc_ros.ros.sim_node',
    'state_estimator_node': 'meta_mpc_ros.ros.state_estimator_node',
    'adaptive_dynamics_node': 'meta_mpc_ros.ros.adaptive_dynamics_node',
    'mppi_controller_node': 'meta_mpc_ros.ros.mppi_controller_node',
    'reference_node': 'meta_mpc_ros.ros.reference_node',
    'bag_recorder': 'meta_mpc_ros.ros.bag_recorder',
    'cmd_split_node': 'meta_mpc_ros.ros.cmd_split_node',
}


def share_tree(directory):
    """Return data_files entries installing every file under directory into share/."""
    entries = []
    for root, _, files in os.walk(directory):
        paths = sorted(os.path.join(root, name) for name in files)
        if paths:
            entries.append((os.path.join('share', PACKAGE, root), paths))
    return entries


data_files = [
    ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
    ('share/' + PACKAGE, ['package.xml']),
    # pip ignores setup.cfg's script_dir, so node wrappers are shipped as data under
    # lib/<package>/ as `ros2 run` expects; colcon installs its console scripts there too.
    ('lib/' + PACKAGE, sorted(glob('scripts/lib/*'))),
]
for tree in ('launch', 'config', 'urdf', 'rviz', 'models', 'worlds'):
    data_files += share_tree(tree)

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*']),
    data_files=data_files,
    install_requires=['setuptools'],
    zip_safe=False,
    maintainer='meta_mpc_ros maintainers',
    maintainer_email='maintainers@meta-mpc-ros.org',
    description='Meta-learned online-adaptive MPPI control (GrBAL, ReBAL) as ROS 2 nodes.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': ['meta-mpc = meta_mpc_ros.cli:main'] + [
            f'{name} = {module}:main' for name, module in NODES.items()
        ],
    },
)
