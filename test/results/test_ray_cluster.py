"""
`meta-mpc bench all --address` runs the grid on a real Ray head with token authentication.

The head is what docs/cluster.md sets up, on loopback: `ray start --head` with
RAY_AUTH_MODE=token and the token `ray get-auth-token --generate` wrote to its
~/.ray/auth_token. The command runs as a user types it, in a folder of its own and with
nothing but a copy of that token file (RAY_AUTH_MODE unset, as Ray 2.60's explicit-address
clients fail with "Failed to connect"): it must run the smoke legged grid on the head's
one CPU, with its jobs' runs/ cache in its own folder. Without the token it must stop
with one line that says so.

The head runs in a session of its own (workers included); teardown stops that session
by id (SIGTERM to `ray start --block`, which drains and stops its processes, then SIGKILL
to whatever of the session is left), not with `ray stop`, which would stop every Ray of
this machine.
"""

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[2]
RAY = pathlib.Path(sys.executable).with_name('ray')
# Variables of the calling shell that would point the head or the client elsewhere.
RAY_VARIABLES = ('RAY_ADDRESS', 'RAY_AUTH_MODE', 'RAY_AUTH_TOKEN', 'RAY_AUTH_TOKEN_PATH')


def _free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def _environment(home, **extra):
    env = {key: value for key, value in os.environ.items() if key not in RAY_VARIABLES}
    # The head's workers import the source tree under test, as the client does.
    env.update(HOME=str(home), PYTHONPATH=str(ROOT), **extra)
    return env


def _session(leader):
    """Return the ids of the live processes of the session `leader` started."""
    members = []
    for entry in pathlib.Path('/proc').iterdir():
        try:
            fields = (entry / 'stat').read_text().rsplit(')', 1)[1].split()
        except (OSError, IndexError):
            continue
        # Fields after the name: state, ppid, pgrp, session.
        if entry.name.isdigit() and int(fields[3]) == leader and fields[0] != 'Z':
            members.append(int(entry.name))
    return members


def _stop(head):
    """Stop the head's session: SIGTERM (graceful), then SIGKILL what is left."""
    if head.poll() is None:
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
    for pid in _session(head.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if head.poll() is None:
        head.kill()
        head.wait(timeout=30)


@pytest.fixture
def ray_head(tmp_path):
    """Yield (address, token file, folder) of a one-CPU Ray head with token auth."""
    home = tmp_path / 'head_home'
    home.mkdir()
    subprocess.run([str(RAY), 'get-auth-token', '--generate'], env=_environment(home),
                   check=True, capture_output=True, timeout=120)
    token = home / '.ray' / 'auth_token'
    assert token.read_text().strip()
    # Ray's socket paths must stay under 108 characters: a short folder of our own.
    temp = tempfile.mkdtemp(prefix='ray', dir='/tmp')
    port = _free_port()
    folder = tmp_path / 'head_folder'
    folder.mkdir()
    log = tmp_path / 'head.log'
    with open(log, 'w') as stream:
        head = subprocess.Popen(
            [str(RAY), 'start', '--head', '--block', f'--port={port}', '--num-cpus=1',
             '--node-ip-address=127.0.0.1', '--include-dashboard=false',
             '--disable-usage-stats', f'--temp-dir={temp}',
             f'--dashboard-agent-listen-port={_free_port()}'],
            env=_environment(home, RAY_AUTH_MODE='token'), cwd=folder, stdout=stream,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(240):
            if 'Ray runtime started' in log.read_text() or head.poll() is not None:
                break
            time.sleep(0.5)
        assert 'Ray runtime started' in log.read_text(), log.read_text()[-3000:]
        yield f'127.0.0.1:{port}', token, folder
    finally:
        _stop(head)
        shutil.rmtree(temp, ignore_errors=True)


def _bench(address, home, folder, **extra):
    folder.mkdir()
    return subprocess.run(
        [sys.executable, '-m', 'meta_mpc_ros.cli', 'bench', 'all', '--only', 'legged',
         '--budget', 'smoke', '--address', address, '--out', str(folder / 'docs')],
        env=_environment(home, **extra), cwd=folder, capture_output=True, text=True,
        timeout=600)


def test_the_smoke_grid_runs_on_a_head_with_token_authentication(ray_head, tmp_path):
    address, token, head_folder = ray_head
    # Without the token: one line that names the cause (2 connection attempts, not 20).
    stranger = tmp_path / 'stranger_home'
    stranger.mkdir()
    refused = _bench(address, stranger, tmp_path / 'stranger', RAY_NUM_REDIS_GET_RETRIES='2')
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert refused.stderr.strip().splitlines()[-1] == (
        f'meta-mpc bench: error: the Ray cluster at {address} runs token authentication and '
        'this machine has no token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or '
        "~/.ray/auth_token): copy the head's ~/.ray/auth_token here (docs/cluster.md)")
    # With a copy of the head's token file, as docs/cluster.md gives it to every node.
    home = tmp_path / 'client_home'
    (home / '.ray').mkdir(parents=True)
    shutil.copy(token, home / '.ray' / 'auth_token')
    folder = tmp_path / 'client'
    done = _bench(address, home, folder)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((folder / 'docs' / 'results' / 'legged.json').read_text())
    assert report['executor'] == {'kind': 'ray', 'address': address, 'cpus': 1, 'nodes': 1,
                                  'ray': report['executor']['ray']}
    assert len(report['families']) == 4
    # The jobs ran in the command's folder, not in the one the head was started from.
    assert (folder / 'runs' / 'results' / 'legged').is_dir()
    assert not (head_folder / 'runs').exists()


def test_token_mode_without_a_token_stops_before_connecting(tmp_path):
    # No head is needed: the check comes before Ray tries the address.
    home = tmp_path / 'home'
    home.mkdir()
    refused = _bench('127.0.0.1:9', home, tmp_path / 'client', RAY_AUTH_MODE='token')
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert refused.stderr.strip().splitlines()[-1] == (
        'meta-mpc bench: error: RAY_AUTH_MODE is token but there is no token '
        '(RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token): '
        "copy the head's ~/.ray/auth_token here (docs/cluster.md)")
