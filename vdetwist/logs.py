# -*- test-case-name: tests.interop.test_lifecycle -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Log observers for C{twistd --logger}.

    twistd -n --logger vdetwist.logs.json vdeswitch -s /tmp/vde

writes one JSON object per event (twisted.logger's format, readable with
C{twisted.logger.eventsFromJSONLogFile}) to standard output, or to the file
named by the C{VDETWIST_JSON_LOG} environment variable.  vdetwist's events
carry their fields: C{port}, C{id}, C{descr} for ports going up and down,
C{reason} for refusals, forward addresses and byte counts for slirp.
"""

import os
import sys
from typing import Any

from twisted.logger import jsonFileLogObserver


def json() -> Any:
    """
    A JSON-lines observer (the C{--logger} factory).

    @return: the observer.
    """
    path = os.environ.get("VDETWIST_JSON_LOG")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return jsonFileLogObserver(os.fdopen(fd, "a", buffering=1))
    return jsonFileLogObserver(sys.stdout)
