"""
Tests for vdetwist (tests/interop).
"""
