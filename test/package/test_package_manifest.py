"""package.xml is a valid format-3 ament_python manifest with every dependency declared."""

import pathlib

from catkin_pkg.package import parse_package

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_manifest_format_and_build_type():
    package = parse_package(str(ROOT / 'package.xml'))
    package.validate()
    assert package.package_format == 3
    assert package.name == 'meta_mpc_ros'
    assert package.get_build_type() == 'ament_python'


def test_maintainer_email_is_valid():
    # catkin_pkg demotes a package with an invalid maintainer email without an error.
    package = parse_package(str(ROOT / 'package.xml'))
    assert package.maintainers
    for maintainer in package.maintainers:
        local, _, domain = maintainer.email.partition('@')
        assert local and '.' in domain, maintainer.email


def test_dependencies_declared():
    package = parse_package(str(ROOT / 'package.xml'))
    exec_depends = {dep.name for dep in package.exec_depends}
    required = {'rclpy', 'std_msgs', 'geometry_msgs', 'nav_msgs', 'sensor_msgs',
                'visualization_msgs', 'rosgraph_msgs', 'diagnostic_msgs', 'launch',
                'launch_ros', 'python3-numpy', 'python3-yaml', 'python3-torch',
                'python3-mujoco-pip', 'python3-rosbags-pip'}
    assert required <= exec_depends, required - exec_depends
    test_depends = {dep.name for dep in package.test_depends}
    assert {'ament_flake8', 'ament_pep257', 'python3-pytest'} <= test_depends


def test_version_matches_setup_py():
    package = parse_package(str(ROOT / 'package.xml'))
    assert f"version='{package.version}'" in (ROOT / 'setup.py').read_text()
