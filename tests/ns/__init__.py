"""
Tests for vdetwist (tests/ns).
"""
