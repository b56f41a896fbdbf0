"""
Tests for vdetwist (tests/console).
"""
