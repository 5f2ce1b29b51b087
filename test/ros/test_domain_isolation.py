"""A process in another ROS domain hears nothing: the isolation the tests rely on."""

import os
import pathlib
import subprocess

PROBE = pathlib.Path(__file__).resolve().parent.parent / 'helpers' / 'odometry_probe.py'


def test_other_domain_hears_nothing(ros_env, python):
    other = dict(ros_env)
    other['ROS_DOMAIN_ID'] = str((int(ros_env['ROS_DOMAIN_ID']) % 100) + 1)
    assert other['ROS_DOMAIN_ID'] != ros_env['ROS_DOMAIN_ID']
    assert os.environ.get('ROS_AUTOMATIC_DISCOVERY_RANGE') == 'LOCALHOST' or \
        os.environ.get('ROS_LOCALHOST_ONLY') == '1'
    listener = subprocess.Popen([python, str(PROBE), 'listen', '4'], env=other,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert listener.stdout.readline().strip() == 'ready'
    subprocess.run([python, str(PROBE), 'publish', '100', '200'], env=ros_env,
                   capture_output=True, text=True, timeout=60, check=True)
    out, _ = listener.communicate(timeout=60)
    assert out.split()[1] == '0'
