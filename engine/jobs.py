"""``n_jobs``, the worker count of every parallel entry point, checked in one place."""

from __future__ import annotations

__all__ = ["check_n_jobs", "worker_count"]


def check_n_jobs(n_jobs: int) -> None:
    """Refuse what joblib would refuse only once a bot is big enough to fan out."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int):
        raise TypeError(f"n_jobs must be an int, got {n_jobs!r}")
    if n_jobs == 0:
        raise ValueError("n_jobs must not be 0: 1 runs in this process, 2+ start workers, -1 uses every core")


def worker_count(n_jobs: int, most: int) -> int:
    """Worker processes for ``n_jobs`` (joblib's meaning: -1 every core, -2 all but one),
    at least 1 and at most ``most``: n_jobs=10**9 must not ask for a billion processes."""
    check_n_jobs(n_jobs)
    if n_jobs == 1 or most <= 1:
        return 1
    import joblib  # imported on use: serving a single message never needs it

    return max(1, min(int(joblib.effective_n_jobs(n_jobs)), most))
