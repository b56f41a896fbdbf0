"""
Tests for vdetwist (tests).
"""
