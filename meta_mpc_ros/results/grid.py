"""
Where the experiment grid runs: Ray tasks (a local Ray, or a cluster), or in this process.

Every job of the legged grid (an Algorithm-1 run, an oracle, one collected episode, one
evaluation episode) is a call `function(job)` of a module-level function on a picklable
job that carries all of its seeds. So the numbers do not depend on where or in which
order the jobs run: `Executor('serial')` and `Executor('ray')` give the same results
(test/results/test_grid.py checks it on a tiny grid).

- `Executor('ray')` starts a local Ray on all cores of this machine (`os.cpu_count()`),
  or joins the cluster at `address` (or at the RAY_ADDRESS environment variable).
  Every task asks for one CPU and runs torch on one thread. A task may map jobs itself
  (an Algorithm-1 run maps its collection episodes): Ray lends the waiting task's CPU
  to its children, so nesting does not deadlock.
- `Executor('serial')` runs the jobs one after the other, in this process, also on one
  torch thread.
"""

import os

KINDS = ('ray', 'serial')


def _call(function, job):
    """Run one job on one torch thread (the planner and the small models are faster so)."""
    import torch
    torch.set_num_threads(1)
    return function(job)


class Executor:
    """
    Map functions over jobs with Ray tasks or serially.

    :param kind: 'ray' or 'serial'.
    :param address: a Ray cluster to join ('auto', 'ray://host:10001', host:port); None:
        the RAY_ADDRESS environment variable, else a new local Ray on all cores.
    :param num_cpus: CPUs of a new local Ray (default: all of this machine's).
    """

    def __init__(self, kind='ray', address=None, num_cpus=None):
        if kind not in KINDS:
            raise ValueError(f'executor must be one of {KINDS}, got {kind!r}')
        self.kind = kind
        self.address = address or os.environ.get('RAY_ADDRESS') or None
        self.num_cpus = num_cpus
        self._remote = None

    def __getstate__(self):
        """Pickle without the Ray handle (a task re-creates it in its own process)."""
        return dict(self.__dict__, _remote=None)

    def describe(self):
        """Return a JSON-ready description: kind, address and the CPUs Ray reports."""
        if self.kind == 'serial':
            return {'kind': 'serial', 'cpus': 1}
        import ray
        self._start()
        return {'kind': 'ray', 'address': self.address or 'local',
                'cpus': int(ray.cluster_resources().get('CPU', 0)),
                'nodes': len([n for n in ray.nodes() if n.get('Alive')]),
                'ray': ray.__version__}

    def _start(self):
        """Start or join Ray once per process; return the remote wrapper of _call."""
        import ray
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, log_to_driver=True,
                         runtime_env={'env_vars': {'PYTHONUNBUFFERED': '1'}})
            else:
                # Ray starts its workers at nice 15; on a shared machine that starves the
                # grid behind any other job, so a local Ray keeps them at normal priority.
                os.environ.setdefault('RAY_worker_niceness', '0')
                ray.init(address='local', num_cpus=self.num_cpus or os.cpu_count() or 1,
                         include_dashboard=False, log_to_driver=True)
        if self._remote is None:
            self._remote = ray.remote(num_cpus=1, max_retries=0)(_call)
        return self._remote

    def map_jobs(self, function, jobs):
        """
        Return [function(job) for job in jobs], in order, run where this executor runs.

        :param function: a module-level function (Ray ships it by reference).
        :param jobs: picklable arguments, one per call.
        """
        jobs = list(jobs)
        if self.kind == 'serial' or len(jobs) == 0:
            import torch
            threads = torch.get_num_threads()
            try:
                return [_call(function, job) for job in jobs]
            finally:
                torch.set_num_threads(threads)
        import ray
        remote = self._start()
        return ray.get([remote.remote(function, job) for job in jobs])

    def shutdown(self):
        """Stop the local Ray this executor started (a joined cluster keeps running)."""
        if self.kind == 'ray':
            import ray
            if ray.is_initialized():
                ray.shutdown()
        self._remote = None


def add_arguments(parser):
    """Add --executor and --address to an argparse parser."""
    parser.add_argument('--executor', default='ray', choices=KINDS,
                        help='ray: the grid runs as Ray tasks (default: a local Ray on all '
                             'cores); serial: one job after the other in this process')
    parser.add_argument('--address', default=None,
                        help='join this Ray cluster (e.g. auto or ray://head:10001) instead of '
                             'starting a local Ray; default: $RAY_ADDRESS if set')


def from_arguments(args):
    """Return the Executor that parsed --executor/--address arguments ask for."""
    return Executor(args.executor, args.address)
