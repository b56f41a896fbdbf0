# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.slirp}, the NAT gateway.
"""
