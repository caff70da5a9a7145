"""The process's memory budget, and reading what the process holds.

The budget is the kernel's limit on the process's private data (``RLIMIT_DATA``: heap and anonymous
mappings, which is where every Python object lives). An allocation past it fails at once with
``MemoryError`` in the thread that asked, so a model that builds too much fails on its own record
instead of the function being killed, and what it built is freed as the error unwinds.
"""

import ctypes
import ctypes.util
import gc
import os
import resource
from typing import Optional

MB = 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _libc() -> Optional[ctypes.CDLL]:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


_LIBC = _libc()


def resident_bytes() -> int:
    """The process's resident memory now (what Lambda counts against the function's memory size)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


def peak_resident_bytes() -> int:
    """The most resident memory the process has had (``VmHWM``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resident_bytes()


def data_bytes() -> int:
    """The process's private data now: what the budget limits."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[5]) * _PAGE


def apply_budget(limit_bytes: Optional[int]) -> Optional[int]:
    """Limit the process's private data to ``limit_bytes`` (None: leave it as it is); returns the limit set.

    Never below what the process already holds plus 32 MB, so applying a budget cannot make the
    process fail at once.
    """
    if limit_bytes is None:
        return None
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = max(limit_bytes, data_bytes() + 32 * MB)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    return limit


def give_back() -> None:
    """Collect garbage and hand freed heap memory back to the system (after a big failure or a compile)."""
    gc.collect()
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)
