# Copyright (c) vdetwist authors. See LICENSE for details.
"""
vdetwist's twistd plugins and endpoint parsers: declarations only.
"""

from twisted.application.service import ServiceMaker

vdeswitch = ServiceMaker(
    "vdetwist switch", "vdetwist.switch.tap",
    "A Virtual Distributed Ethernet switch (vde_switch compatible)", "vdeswitch")
