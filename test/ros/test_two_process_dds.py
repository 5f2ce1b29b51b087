"""
Two real processes talk over Fast DDS on loopback: Odometry at 100 Hz, none lost.

Counted against what was sent, not against the wall clock: the publisher sends 300
messages at 100 Hz once the listener is matched and waits until they are acknowledged
(reliable QoS, histories that hold them all), so on a loaded machine the listener may
take longer, but it must receive every one, in order.
"""

import pathlib
import subprocess

PROBE = pathlib.Path(__file__).resolve().parent.parent / 'helpers' / 'odometry_probe.py'
SENT = 300      # 3 s at 100 Hz


def test_odometry_at_100_hz_crosses_processes(ros_env, python):
    listener = subprocess.Popen([python, str(PROBE), 'listen', '120', str(SENT)], env=ros_env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert listener.stdout.readline().strip() == 'ready'
    publisher = subprocess.run([python, str(PROBE), 'publish', '100', str(SENT)], env=ros_env,
                               capture_output=True, text=True, timeout=120)
    out, err = listener.communicate(timeout=150)
    assert publisher.returncode == 0, publisher.stderr
    assert listener.returncode == 0, err
    assert int(publisher.stdout.split()[-1]) == SENT
    # All of them, in order and without gaps: x = 0, 1, ..., SENT - 1.
    _, received, first, last, gapless = out.split()
    assert (int(received), int(first), int(last), gapless) == (SENT, 0, SENT - 1, 'True'), out
