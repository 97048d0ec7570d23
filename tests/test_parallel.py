"""ser.parallel: --jobs checked and capped; workers leave Ctrl-C to the main process and end with it; a Dask
cluster instead of local processes."""

import ctypes
import logging
import os
import signal

import pytest

from ser import parallel
from ser.errors import ConfigError, UserError

PR_GET_PDEATHSIG = 2


def worker_state(_) -> tuple:
    """(Ctrl-C ignored, the signal this process gets when its parent dies) inside a worker."""
    death_signal = ctypes.c_int()
    ctypes.CDLL(None).prctl(PR_GET_PDEATHSIG, ctypes.byref(death_signal))
    return signal.getsignal(signal.SIGINT) == signal.SIG_IGN, death_signal.value, os.getpid()


def test_jobs_are_checked_and_capped_at_the_number_of_cores(caplog):
    cores = os.cpu_count()
    assert parallel.worker_count(-1) == cores and parallel.worker_count(1) == 1
    with caplog.at_level(logging.WARNING, "ser"):
        assert parallel.worker_count(1000) == cores
    assert caplog.messages == [f"--jobs 1000 is more than the {cores} cores; using {cores}"]
    for jobs in (0, -2):
        with pytest.raises(ConfigError, match=f"jobs {jobs}: use -1 for all cores or a positive number"):
            parallel.worker_count(jobs)


@pytest.mark.skipif(os.cpu_count() < 2, reason="needs two cores for worker processes")
def test_workers_ignore_ctrl_c_and_die_with_the_main_process():
    states = parallel.map_with_progress(worker_state, list(range(5)), jobs=2)[1:]  # the first is the main's
    assert {state[:2] for state in states} == {(True, signal.SIGTERM)}
    assert os.getpid() not in {state[2] for state in states}  # they did run in workers


def item_and_process(item) -> tuple:
    return item, os.getpid()


@pytest.mark.skipif(os.cpu_count() < 2, reason="needs two cores for worker processes")
def test_the_first_item_runs_here_before_the_workers_and_the_order_is_kept():
    """So that librosa's kernels are compiled and cached by one process (numba/numba#10128)."""
    results = parallel.map_with_progress(item_and_process, list(range(6)), jobs=2)
    assert [item for item, _ in results] == list(range(6))
    assert results[0][1] == os.getpid() and os.getpid() not in {pid for _, pid in results[1:]}
    assert parallel.map_with_progress(item_and_process, [7], jobs=2) == [(7, os.getpid())]
    assert parallel.map_with_progress(item_and_process, [], jobs=2) == []


def fails_on_three(item: int) -> tuple:
    if item == 3:
        raise ValueError("item 3 is bad")
    return item_and_process(item)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(os.cpu_count() < 2, reason="needs two cores for worker processes")
def test_imap_in_workers_runs_every_item_in_a_worker_in_order_and_ends_the_workers():
    """For the networks (ser.network.train_networks): fresh processes, Ctrl-C left to the main process, the
    results in order, and no worker left behind, also when an item fails."""
    states = list(parallel.imap_in_workers(worker_state, range(4), workers=2))
    assert {state[:2] for state in states} == {(True, signal.SIGTERM)}
    assert os.getpid() not in {state[2] for state in states}
    results = list(parallel.imap_in_workers(item_and_process, range(5), workers=2))
    assert [item for item, _ in results] == list(range(5))
    assert not any(alive(pid) for pid in {state[2] for state in states} | {pid for _, pid in results})
    failing = parallel.imap_in_workers(fails_on_three, range(6), workers=2)
    before = [next(failing) for _ in range(3)]
    with pytest.raises(ValueError, match="item 3 is bad"):
        next(failing)
    assert not any(alive(pid) for _, pid in before)


def test_a_dask_cluster_does_the_work_in_its_workers_in_order(dask_scheduler):
    states = parallel.map_with_progress(worker_state, list(range(6)), jobs=1, scheduler=dask_scheduler)
    assert len(states) == 6 and len({state[2] for state in states[1:]} - {os.getpid()}) >= 1
    assert parallel.map_with_progress(abs, list(range(-20, 0)), jobs=1, scheduler=dask_scheduler) == list(
        range(20, 0, -1))



def killed_on_two(item: int) -> int:
    if item == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return item


@pytest.mark.skipif(os.cpu_count() < 2, reason="needs two cores for worker processes")
def test_a_worker_killed_from_outside_is_a_clear_error_not_a_wait_for_ever():
    with pytest.raises(UserError, match=r"a worker process ended before its task was done \(out of memory\?\); "
                                        r"use fewer --jobs than 2, or --jobs 1 for none"):
        list(parallel.imap_in_workers(killed_on_two, range(5), workers=2))
