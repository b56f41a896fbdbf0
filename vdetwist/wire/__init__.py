# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Pure codecs for the frames and packets vdetwist handles.

Nothing here imports C{twisted.internet}, opens a socket or reads a clock:
every function takes bytes (or a memoryview) and returns values, so the
codecs can be tested against RFC and capture fixtures alone.
"""
