# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.observe}: metrics, the web view, live capture.
"""
