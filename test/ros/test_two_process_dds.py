"""Two real processes talk over Fast DDS on loopback: Odometry at 100 Hz."""

import pathlib
import subprocess

PROBE = pathlib.Path(__file__).resolve().parent.parent / 'helpers' / 'odometry_probe.py'


def test_odometry_at_100_hz_crosses_processes(ros_env, python):
    listener = subprocess.Popen([python, str(PROBE), 'listen', '60'], env=ros_env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert listener.stdout.readline().strip() == 'ready'
    publisher = subprocess.run([python, str(PROBE), 'publish', '100', '3'], env=ros_env,
                               capture_output=True, text=True, timeout=60)
    out, err = listener.communicate(timeout=60)
    assert publisher.returncode == 0, publisher.stderr
    assert listener.returncode == 0, err
    published = int(publisher.stdout.split()[-1])
    _, received, first, last = out.split()
    # 3 s at 100 Hz is 300 messages; allow for timer jitter on a loaded 2-core machine
    # (the publisher starts once the listener is matched).
    assert published >= 240
    assert int(received) >= 0.9 * published
    # In order and without gaps once matched: the last position is the last published.
    assert int(last) == published - 1
    assert int(last) - int(first) + 1 == int(received)
