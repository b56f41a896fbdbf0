"""
Tests for vdetwist (tests/wire).
"""
