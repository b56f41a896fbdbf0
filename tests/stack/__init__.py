"""
Tests for vdetwist (tests/stack).
"""
