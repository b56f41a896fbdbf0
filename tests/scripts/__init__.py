"""
Tests for the vdetwist command.
"""
