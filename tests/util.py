# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Helpers shared by vdetwist's tests.
"""

import shutil
import tempfile


def shortTempDir(testCase) -> str:
    """
    A fresh directory under /tmp, removed when the test ends: UNIX socket
    paths must fit in 107 bytes, which trial's C{mktemp} paths do not.

    @param testCase: the test (its C{addCleanup} is used).
    @return: the directory's absolute path.
    """
    path = tempfile.mkdtemp(prefix="vt", dir="/tmp")
    testCase.addCleanup(shutil.rmtree, path, True)
    return path
