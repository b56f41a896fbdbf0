# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Seeing the network: Prometheus metrics (L{vdetwist.observe.metrics}) and
the live web view (L{vdetwist.observe.web}).

This is a face-level package: it reads the public counters of the switch,
the cables, slirp and the virtual hosts, and changes nothing on their
per-frame paths.
"""
