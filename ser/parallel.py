"""Spreading work over processes, with a progress bar: local processes that end with the main process, or
the workers of a Dask cluster (an optional install: requirements-dask.txt)."""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import os
import signal
import sys

from ser.cli import setup_logging
from ser.errors import UserError, require

log = logging.getLogger("ser")
PR_SET_PDEATHSIG = 1  # prctl option (Linux): the signal a process gets when its parent dies


def worker_count(jobs: int) -> int:
    """The number of processes for --jobs (-1: all cores), at most the number of cores; ConfigError for
    0 or below -1. Checked by the scripts before the long work."""
    cores = os.cpu_count() or 1
    require(jobs == -1 or jobs >= 1, f"jobs {jobs}: use -1 for all cores or a positive number of processes (--jobs)")
    if jobs > cores:
        log.warning("--jobs %d is more than the %d cores; using %d", jobs, cores, cores)
    return cores if jobs == -1 else min(jobs, cores)


def _start_worker() -> None:
    """In each worker: Ctrl-C is the main process's to handle (it stops the workers, with one line, not a
    traceback from each), and on Linux the worker is ended when the main process dies, even by SIGKILL."""
    setup_logging()  # a worker's warnings (e.g. a damaged cache entry) read like the main process's
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def dask_client(address: str):
    """A dask.distributed Client of the scheduler at address (tcp://host:8786), closed on exit; UserError if
    dask is not installed or the scheduler cannot be reached."""
    try:
        from distributed import Client
    except ImportError:
        raise UserError(f"--dask-scheduler {address} needs dask: pip install -r requirements-dask.txt "
                        f"(or leave the flag out to use local processes)") from None
    try:
        client = Client(address, timeout="20s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise UserError(f"cannot reach the Dask scheduler at {address} ({err}); start it (dask scheduler) or "
                        f"leave --dask-scheduler out to use local processes") from None
    with client:
        yield client


def map_with_progress(function, items: list, jobs: int, desc: str = "features", scheduler: str = "") -> list:
    """[function(item) for item in items] with a progress bar, in order: over `jobs` local processes (see
    worker_count), or over the workers of the Dask scheduler at `scheduler` (then jobs is unused).

    function must be picklable by reference (a module-level function, or an instance of a
    module-level class): the workers import it from the ser package, so Dask workers need this
    project on their path. The first item is done here, before any worker starts: librosa's
    compiled kernels are then written to numba's cache by one process, not by several at once,
    which can mix their files and crash every later run with a segmentation fault (numba/numba#10128)."""
    return list(imap_with_progress(function, items, jobs, len(items), desc, scheduler=scheduler))


def imap_with_progress(function, items, jobs: int, total: int | None, desc: str = "features", unit: str = "file",
                       scheduler: str = ""):
    """map_with_progress as a generator over an iterable of items (total of them, for the bar): the items are
    taken as workers are ready for them and the results yielded in order, so neither needs to fit in memory."""
    from joblib import Parallel, delayed, parallel_config
    from tqdm import tqdm

    items = iter(items)
    with tqdm(total=total, desc=desc, unit=unit, disable=None) as progress:
        for first in itertools.islice(items, 1):
            yield function(first)
            progress.update(1)
        following = list(itertools.islice(items, 1))
        if not following:  # nothing left: no workers started
            return
        items = itertools.chain(following, items)
        with contextlib.ExitStack() as stack:
            if scheduler:
                client = stack.enter_context(dask_client(scheduler))
                stack.enter_context(parallel_config(backend="dask", client=client))
                n_jobs = -1
            else:
                stack.enter_context(parallel_config(backend="loky", initializer=_start_worker))
                n_jobs = worker_count(jobs)
            rest = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(function)(item) for item in items)
            for result in rest:
                yield result
                progress.update(1)


def imap_in_workers(function, items, workers: int):
    """function(item) for each of items (an iterable, taken as workers are ready for it), over `workers` fresh
    local processes (spawned: the main process may already run TensorFlow, which a fork would copy broken),
    yielded in order. Unlike imap_with_progress, every item runs in a worker and there is no progress bar: for a
    few long tasks, each a whole computation. The workers are ended on the way out, also by an error or Ctrl-C;
    a worker killed from outside (e.g. out of memory) is a UserError, not a wait for ever."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker)
    items = iter(items)
    try:
        pending = collections.deque(executor.submit(function, item) for item in itertools.islice(items, 2 * workers))
        while pending:
            try:
                result = pending.popleft().result()
            except BrokenProcessPool:
                raise UserError(f"a worker process ended before its task was done (out of memory?); use fewer "
                                f"--jobs than {workers}, or --jobs 1 for none") from None
            pending.extend(executor.submit(function, item) for item in itertools.islice(items, 1))
            yield result
    finally:
        for process in list((executor._processes or {}).values()):  # shutdown alone would wait for running tasks
            process.terminate()
        executor.shutdown(cancel_futures=True)
