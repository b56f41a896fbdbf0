# -*- test-case-name: tests.test_runtime -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
What vdetwist asks of the interpreter it runs on.

On PyPy the per-packet work of a virtual host or a slirp makes short-lived
objects (segments, frames, slices) faster than PyPy's default nursery (1
MB here: PyPy sizes it from the CPU cache) can hold them between minor
collections, so each collection promotes the data in flight and the
promoted data costs major collections: about half of a sending virtual
host's CPU (docs/performance.txt, "The virtual host on PyPy").  A 16 MB
nursery cuts the collections by 15 and lets PyPy's virtual host keep up
with the kernel's TCP.  PyPy reads the size only from the environment
(C{PYPY_GC_NURSERY}) at start, so the programs that run a TCP/IP stack
(C{vdetwist cat}, C{vdetwist slirp}, C{twistd slirp}, C{twistd
vdetutorial}) re-execute themselves once with it set when it is not
(L{tuneInterpreter}).  The switch and the frame relays (C{vdetwist switch},
C{plug}, C{ns}, C{twistd vdeswitch}) keep PyPy's default: a nursery the
size of the cache keeps each frame they copy in it, and with 16 MB the
switch spent 0.71 cores per iperf3 Gbit/s instead of 0.44 (it makes few
objects per frame that outlive a collection).  A user's own value is
kept; so is CPython's behaviour (nothing happens there).
"""

import os
import platform
import sys
from typing import Callable, List, MutableMapping, Optional

__all__ = ["tuneInterpreter", "NURSERY_VARIABLE", "PYPY_NURSERY"]

#: The environment variable PyPy reads its nursery size from.
NURSERY_VARIABLE = "PYPY_GC_NURSERY"
#: The nursery vdetwist's programs run with on PyPy.
PYPY_NURSERY = "16MB"
#: The programs (C{basename(sys.argv[0])}) that re-execute themselves.
PROGRAMS = ("vdetwist", "twistd")


def tuneInterpreter(argv: Optional[List[str]] = None,
                    environ: Optional[MutableMapping[str, str]] = None,
                    implementation: Optional[str] = None,
                    executable: Optional[str] = None,
                    execv: Callable[[str, List[str]], object] = os.execv) -> bool:
    """
    On PyPy, when this process is one of L{PROGRAMS} started without
    L{NURSERY_VARIABLE}, set it to L{PYPY_NURSERY} and re-execute the same
    command line (which does not return).  Call it before doing anything
    that a second start would repeat (sockets, pid files).

    @param argv: the command line (default C{sys.argv}).
    @param environ: the environment (default C{os.environ}).
    @param implementation: the interpreter's name (default
        C{platform.python_implementation()}).
    @param executable: the interpreter (default C{sys.executable}).
    @param execv: replaces the process (C{os.execv}; a test's recorder).
    @return: C{False} when nothing was done (C{execv} returns only in tests:
        C{True} then).
    """
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    implementation = platform.python_implementation() if implementation is None else implementation
    executable = sys.executable if executable is None else executable
    if implementation != "PyPy" or NURSERY_VARIABLE in environ or not argv:
        return False
    if os.path.basename(argv[0]) not in PROGRAMS or not executable:
        return False
    environ[NURSERY_VARIABLE] = PYPY_NURSERY
    sys.stdout.flush()
    sys.stderr.flush()
    execv(executable, [executable] + list(argv))
    return True
