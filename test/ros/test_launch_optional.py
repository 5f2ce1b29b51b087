"""A node marked `required: false` may exit without stopping the graph (meta-mpc launch)."""

import dataclasses
import io
import os
import signal
import threading
import time

from meta_mpc_ros.ros.graph import build_graph
from meta_mpc_ros.ros.graph.launcher import supervise
from meta_mpc_ros.ros.graph.process import GraphProcess


def test_optional_node_exit_keeps_the_graph_running(ros_env, tmp_path):
    reference = build_graph({'use_sim_time': 'false'}, run_dir=tmp_path).node('reference_node')
    optional = dataclasses.replace(reference, name='optional_reference', required=False)
    process = GraphProcess([reference, optional], tmp_path / 'logs', env=ros_env).start()
    err = io.StringIO()

    def kill_optional():
        time.sleep(3.0)
        os.kill(process.pids['optional_reference'], signal.SIGKILL)

    killer = threading.Thread(target=kill_optional)
    killer.start()
    status = supervise(process, duration=6.0, out=io.StringIO(), err=err)
    killer.join()
    # The required node ran the whole 6 s and stopped cleanly on the duration.
    assert status == 0
    assert "node 'optional_reference' (not required) exited with signal SIGKILL" in err.getvalue()
    assert {ended.name: ended.returncode for ended in process.poll()}['reference_node'] == 0
