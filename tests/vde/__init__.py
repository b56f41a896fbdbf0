"""
Tests for vdetwist (tests/vde).
"""
