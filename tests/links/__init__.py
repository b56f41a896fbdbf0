"""
Tests for vdetwist.links: cables, VXLAN/vxvde, link emulation, the loop guard.
"""
