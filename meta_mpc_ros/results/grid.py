"""
Where the experiment grid runs: Ray tasks (a local Ray, or a cluster), or in this process.

Every job of the legged grid (an Algorithm-1 run, an oracle, one collected episode, one
evaluation episode) is a call `function(job)` of a module-level function on a picklable
job that carries all of its seeds. So the numbers do not depend on where or in which
order the jobs run: `Executor('serial')` and `Executor('ray')` give the same results
(test/results/test_grid.py checks it on a tiny grid).

- `Executor('ray')` starts a local Ray on all cores of this machine (`os.cpu_count()`),
  or joins the cluster at `address` (or at the RAY_ADDRESS environment variable), with
  Ray's token authentication wherever this machine has a token (docs/cluster.md).
  Every task asks for one CPU, runs torch on one thread, and runs in the folder the
  command runs in, so that relative paths (runs/...) name the same files as serially.
  A task may map jobs itself (an Algorithm-1 run maps its collection episodes): Ray
  lends the waiting task's CPU to its children, so nesting does not deadlock.
- `Executor('serial')` runs the jobs one after the other, in this process, also on one
  torch thread.
"""

import os

KINDS = ('ray', 'serial')
# Where Ray looks for a cluster's token, in this order (docs/cluster.md).
TOKEN_SOURCES = 'RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token'


class ClusterError(ValueError):
    """A Ray cluster could not be joined for a reason the user can fix (one line)."""


def _call(function, job, folder=None):
    """
    Run one job on one torch thread (the planner and the small models are faster so).

    :param folder: the folder to run in: the driver's, so that the jobs' relative paths
        (runs/...) name the same files on every node as in the command's own process.
    """
    import torch
    if folder is not None and folder != os.getcwd():
        try:
            os.chdir(folder)
        except OSError as error:
            raise ClusterError(f'a Ray node cannot enter {folder} ({error.strerror}): every '
                               'node needs the checkout at the same path (docs/cluster.md)') \
                from None
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
                _join(self.address)
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
        folder = os.getcwd()
        return ray.get([remote.remote(function, job, folder) for job in jobs])

    def shutdown(self):
        """Stop the local Ray this executor started (a joined cluster keeps running)."""
        if self.kind == 'ray':
            import ray
            if ray.is_initialized():
                ray.shutdown()
        self._remote = None


def _join(address):
    """Join the Ray cluster at `address`; raise ClusterError when it refuses our token."""
    import ray
    token = _token_authentication()
    try:
        ray.init(address=address, log_to_driver=True,
                 runtime_env={'env_vars': {'PYTHONUNBUFFERED': '1'}})
    except ConnectionError as error:
        reasons, cause = [], error
        while cause is not None:
            reasons.append(str(cause))
            cause = cause.__cause__ or cause.__context__
        if 'InvalidAuthToken' not in ' '.join(reasons):
            raise
        what = ("a different token from the head's" if token else
                f'no token ({TOKEN_SOURCES})')
        raise ClusterError(f'the Ray cluster at {address} runs token authentication and this '
                           f"machine has {what}: copy the head's ~/.ray/auth_token here "
                           '(docs/cluster.md)') from None


def _token_authentication():
    """
    Turn on Ray's token authentication for joining a cluster where a token is at hand.

    Ray 2.60's `ray start --head` authenticates with a token wherever one exists (a local
    `ray.init()` writes ~/.ray/auth_token), but a driver given an explicit address sends
    it only under RAY_AUTH_MODE=token. So an unset RAY_AUTH_MODE becomes token when Ray
    finds a token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token, in Ray's
    order); a head without authentication ignores it. A RAY_AUTH_MODE that is set is
    kept.

    :return: whether the driver authenticates with a token.
    """
    import ray
    # Ray's own check (the one `ray.init(address='auto')` makes): it sets RAY_AUTH_MODE
    # and refreshes the configuration Ray read when it was imported.
    from ray._private.authentication.authentication_token_setup import (
        maybe_enable_token_auth_if_token_available)
    from ray._raylet import AuthenticationTokenLoader
    mode = os.environ.get('RAY_AUTH_MODE')
    if mode not in (None, 'token'):
        return False
    try:
        found = AuthenticationTokenLoader.instance().has_token(ignore_auth_mode=True)
    except ray.exceptions.AuthenticationError as error:
        # RAY_AUTH_TOKEN_PATH names a file that cannot be read.
        raise ClusterError(str(error.message)) from None
    if not found:
        if mode == 'token':
            raise ClusterError(f'RAY_AUTH_MODE is token but there is no token ({TOKEN_SOURCES}):'
                               " copy the head's ~/.ray/auth_token here (docs/cluster.md)")
        return False
    return maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


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
