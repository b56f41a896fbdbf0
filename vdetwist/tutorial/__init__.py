# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The seed tutorial's whole network in one process (C{twistd vdetutorial}).
"""
