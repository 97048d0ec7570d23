"""Spreading work over processes, with a progress bar."""

from __future__ import annotations

from ser.errors import require


def map_with_progress(function, items: list, jobs: int, desc: str = "features") -> list:
    """[function(item) for item in items] over `jobs` processes (-1: all cores) with a progress bar, in order.

    function must be picklable by reference (a module-level function, or an instance of a
    module-level class): the workers import it from the ser package."""
    from joblib import Parallel, delayed
    from tqdm import tqdm

    require(jobs != 0, "jobs 0: use -1 for all cores or a positive number of processes (--jobs)")
    results = Parallel(n_jobs=jobs, return_as="generator")(delayed(function)(item) for item in items)
    return list(tqdm(results, total=len(items), desc=desc, unit="file", disable=None))
