# Copyright (c) vdetwist authors. See LICENSE for details.
"""
vdetwist.stack package.
"""
