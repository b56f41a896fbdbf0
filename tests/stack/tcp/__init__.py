"""
Tests for vdetwist (tests/stack/tcp).
"""
