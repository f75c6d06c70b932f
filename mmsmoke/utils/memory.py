"""Resident memory (RSS) of the current process, for memory benchmarks."""
import os
import sys
from typing import Optional

_MIB = 1024.0 * 1024.0


def current_rss_mib() -> float:
    """Resident set size of this process now, in MiB.

    Uses ``psutil`` when it is installed, else ``/proc/self/statm`` (Linux).

    Returns:
        float: RSS in MiB.
    """
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a build requirement
        psutil = None
    if psutil is not None:
        return psutil.Process(os.getpid()).memory_info().rss / _MIB
    with open('/proc/self/statm') as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf('SC_PAGE_SIZE') / _MIB


def _proc_status_mib(field: str) -> Optional[float]:
    """A ``kB`` field of ``/proc/self/status`` in MiB; None off Linux."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def peak_rss_mib() -> float:
    """Highest resident set size of this process, in MiB.

    On Linux this is ``VmHWM`` of ``/proc/self/status``, which
    :func:`reset_peak_rss` can reset; elsewhere the lifetime maximum of
    ``getrusage`` (kilobytes on Linux, bytes on macOS).

    Returns:
        float: Peak RSS in MiB, never below the current RSS.
    """
    peak = _proc_status_mib('VmHWM')
    if peak is None:
        import resource  # Unix only; imported here so Windows can import us
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = peak / _MIB if sys.platform == 'darwin' else peak / 1024.0
    # The kernel updates the high-water mark lazily; never report a peak
    # below the current value.
    return max(peak, current_rss_mib())


def reset_peak_rss() -> bool:
    """Reset the peak RSS of this process to its current RSS (Linux).

    Writes ``5`` to ``/proc/self/clear_refs`` (Linux >= 4.0), so that
    :func:`peak_rss_mib` then reports the peak of what follows.

    Returns:
        bool: Whether the reset was possible.
    """
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        return False
    return True
