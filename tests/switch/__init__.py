"""
Tests for vdetwist (tests/switch).
"""
