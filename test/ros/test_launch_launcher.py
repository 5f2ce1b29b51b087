"""The embedded launcher: arguments, parameter encoding, and real node processes."""

import argparse
import io
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

from meta_mpc_ros.core.reference import ReferencePath
from meta_mpc_ros.ros.graph import build_graph, GraphError, NodeEntry
from meta_mpc_ros.ros.graph import launcher, process as graph_process
import numpy as np
import pytest

HELPERS = pathlib.Path(__file__).resolve().parent.parent / 'helpers'


def parse(*argv):
    """Parse `meta-mpc launch` arguments."""
    parser = argparse.ArgumentParser()
    launcher.add_arguments(parser)
    return parser.parse_args(argv)


def alive(pid):
    """Return True if a process with this pid exists and is not a zombie."""
    try:
        with open(f'/proc/{pid}/stat') as stat:
            return stat.read().split(') ')[-1][0] != 'Z'
    except FileNotFoundError:
        return False


def test_ros2_style_arguments_and_flags():
    args = parse('robot:=millirobot', 'adapter:=mb', 'record:=false',
                 'terrain_schedule:=5.0:carpet', '--task', 'zigzag', '--duration', '3')
    assert launcher.launch_values(args) == {
        'robot': 'millirobot', 'adapter': 'mb', 'record': 'false',
        'terrain_schedule': '5.0:carpet', 'task': 'zigzag'}
    assert args.duration == 3.0
    with pytest.raises(GraphError, match="adapter is given as 'mb' and as 'de'"):
        launcher.launch_values(parse('adapter:=mb', '--adapter', 'de'))
    with pytest.raises(GraphError, match='expected NAME:=VALUE'):
        launcher.launch_values(parse('adapter=mb'))
    with pytest.raises(GraphError, match='given twice'):
        launcher.launch_values(parse('task:=zigzag', 'task:=straight'))


@pytest.mark.parametrize('argv, message', [
    (['adaptr:=mb'], "unknown launch argument 'adaptr'; did you mean 'adapter'?"),
    (['record:=maybe'], "record: expected true or false, got 'maybe'"),
    (['--only', 'sim_nod'], "--only: ['sim_nod'] not among the nodes"),
    (['--duration', '-1'], '--duration must be positive'),
])
def test_bad_arguments_exit_2_with_the_reason(argv, message, capsys, tmp_path):
    assert launcher.run(parse('--dry-run', '--run-dir', str(tmp_path), *argv)) == 2
    assert message in capsys.readouterr().err


def test_dry_run_prints_one_command_per_node(capsys, tmp_path):
    assert launcher.run(parse('--dry-run', 'adapter:=mb', 'record:=false',
                              '--run-dir', str(tmp_path))) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    for line, name in zip(lines, ['sim_node', 'state_estimator_node', 'adaptive_dynamics_node',
                                  'mppi_controller_node', 'reference_node']):
        assert f'lib/meta_mpc_ros/{name} --ros-args -r __node:={name} --params-file ' in line
        assert f'config/{name}.yaml -p use_sim_time:=true' in line
    assert "-p 'adapter:='\"'\"'mb'\"'\"''" in lines[2]  # adapter:='mb' quoted for a shell


@pytest.mark.parametrize('value, text', [
    (True, 'true'), (3, '3'), (0.5, '0.5'), (1e-05, '1e-05'), ('true', "'true'"),
    ("it's", "'it''s'"), ('', "''"), (['/odom', '/cmd'], "['/odom', '/cmd']"),
    ([1, 2.5], '[1.0, 2.5]'), ([False, True], '[false, true]')])
def test_encode_parameter(value, text):
    assert graph_process.encode_parameter(value) == text


@pytest.mark.parametrize('value', [[], [1, 'a'], float('nan'), 'two\nlines', {'a': 1}, None])
def test_encode_parameter_refuses_what_cannot_round_trip(value):
    with pytest.raises(ValueError):
        graph_process.encode_parameter(value)


# Values whose YAML form would change type if written bare.
TRICKY = {'as_string_true': 'true', 'as_string_number': '1.0', 'empty': '',
          'schedule': '20.0:slippery_slope,payload;40.0:carpet', 'quoted': "it's \"q\"",
          'flag': False, 'count': 7, 'ratio': 0.25, 'topics': ['/odom', 'a:b', 'c,d'],
          'weights': [1.0, 2.0], 'overridden': 'from -p'}


def test_graph_process_runs_nodes_as_processes_and_stops_all_when_one_dies(
        ros_env, tmp_path, ros_probe_class):
    params = tmp_path / 'echo.yaml'
    params.write_text('/**:\n  ros__parameters:\n    from_file: 1\n    overridden: file\n')
    reference = build_graph({'task': 'zigzag', 'use_sim_time': 'false'},
                            run_dir=tmp_path).node('reference_node')
    echo = NodeEntry('meta_mpc_ros', 'launch_param_echo', 'param_echo_under_test',
                     parameter_files=(str(params),), parameters=TRICKY,
                     path=str(HELPERS / 'launch_param_echo.py'))
    process = graph_process.GraphProcess([reference, echo], tmp_path / 'logs', env=ros_env)
    probe = None
    try:
        process.start()
        pids = process.pids
        assert sorted(pids) == ['param_echo_under_test', 'reference_node']
        assert len(set(pids.values()) | {os.getpid()}) == 3
        probe = ros_probe_class(ros_env['ROS_DOMAIN_ID'])
        probe.subscribe_reference()
        assert probe.spin_until(lambda: probe.paths, 20), process.tail('reference_node')
        # task:=zigzag reached the node through -p: the path is the zig-zag.
        expected = ReferencePath.make('zigzag', scale=0.5).points
        received = [[p.pose.position.x, p.pose.position.y] for p in probe.paths[0].poses]
        np.testing.assert_allclose(received, expected, atol=1e-12)

        log = pathlib.Path(process.log_path('param_echo_under_test'))
        deadline = time.monotonic() + 20
        while 'PARAMS' not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        line = next(x for x in log.read_text().splitlines() if x.startswith('PARAMS'))
        # Every value keeps its type; -p overrides the file; the file still applies.
        received, expected = json.loads(line[len('PARAMS '):]), dict(TRICKY, from_file=1)
        assert {name: received.get(name) for name in expected} == expected
        assert 'NODE /param_echo_under_test' in log.read_text()

        os.kill(pids['param_echo_under_test'], signal.SIGKILL)
        err = io.StringIO()
        assert launcher.supervise(process, stop_timeout=10, err=err) == 1
        assert ("node 'param_echo_under_test' exited with signal SIGKILL while the graph was "
                'running; stopping the others') in err.getvalue()
        assert 'PARAMS' in err.getvalue()  # its last log lines
        assert not any(alive(pid) for pid in pids.values())
        assert dict(process.poll())['reference_node'] == 0  # stopped cleanly by SIGINT
    finally:
        if probe is not None:
            probe.close()
        process.stop(signal.SIGKILL, timeout=5)


@pytest.mark.parametrize('how', ['SIGINT', 'SIGTERM', 'node killed'])
def test_launcher_process_forwards_signals_and_reports_a_dead_node(
        how, ros_env, tmp_path, ros_probe_class):
    command = [sys.executable, '-m', 'meta_mpc_ros.ros.graph.launcher', 'task:=straight',
               'use_sim_time:=false', '--only', 'reference_node', '--run-dir', str(tmp_path)]
    run = subprocess.Popen(command, env=ros_env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    node_pid = probe = None
    try:
        lines = []
        while not lines or not lines[-1].startswith('Ctrl-C stops'):
            lines.append(run.stdout.readline())
            assert lines[-1], (lines, run.stderr.read())
        node_pid = int(next(x for x in lines if 'reference_node (pid' in x).split('pid ')[1]
                       .split(')')[0])
        probe = ros_probe_class(ros_env['ROS_DOMAIN_ID'])
        probe.subscribe_reference()
        assert probe.spin_until(lambda: probe.paths, 20)
        assert len(probe.paths[0].poses) == len(ReferencePath.make('straight', 0.5).points)
        if how == 'node killed':
            os.kill(node_pid, signal.SIGKILL)
        else:
            run.send_signal(getattr(signal, how))
        out, err = run.communicate(timeout=20)
    finally:
        if probe is not None:
            probe.close()
        if run.poll() is None:
            run.kill()
            run.communicate()
        if node_pid is not None and alive(node_pid):
            os.kill(node_pid, signal.SIGKILL)
    assert not alive(node_pid)
    log = (tmp_path / 'logs' / 'reference_node.log').read_text()
    assert 'reference: straight' in log
    assert f'logs in {tmp_path / "logs"}' in out
    if how == 'node killed':
        assert run.returncode == 1
        assert "node 'reference_node' exited with signal SIGKILL" in err
    else:
        assert run.returncode == 0, err
        assert err == ''


STUBBORN = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print('ignoring', flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize('second_signal', [False, True])
def test_stragglers_are_killed_after_the_timeout(second_signal, tmp_path):
    script = tmp_path / 'stubborn.py'
    script.write_text(STUBBORN)
    entry = NodeEntry('test', 'stubborn', 'stubborn', path=str(script))
    process = graph_process.GraphProcess([entry], tmp_path / 'logs').start()
    try:
        log = pathlib.Path(process.log_path('stubborn'))
        deadline = time.monotonic() + 20
        while 'ignoring' not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        if second_signal:
            process.kill_now.set()  # what a second Ctrl-C does
        started = time.monotonic()
        codes = process.stop(signal.SIGINT, timeout=1.0 if not second_signal else 30.0)
        # SIGINT is ignored, so only SIGKILL ends it: after the 1 s timeout, or at once.
        assert codes == {'stubborn': -signal.SIGKILL} and process.killed == ['stubborn']
        assert time.monotonic() - started < (5.0 if not second_signal else 1.0)
    finally:
        process.stop(signal.SIGKILL, timeout=5)
