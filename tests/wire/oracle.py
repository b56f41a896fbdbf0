# Copyright (c) vdetwist authors. See LICENSE for details.
"""
scapy as an independent oracle for the codec tests: frames built with
scapy are parsed with vdetwist's codecs, and the reverse.  Tests that use
it skip when scapy is not installed.
"""

from typing import Any, Optional

scapy: Optional[Any]
try:
    import scapy.all as scapy  # type: ignore[no-redef]
except Exception:  # pragma: no cover - depends on the environment
    scapy = None

#: The reason given when scapy is missing.
SKIP_REASON = "scapy is not installed: no independent oracle"
