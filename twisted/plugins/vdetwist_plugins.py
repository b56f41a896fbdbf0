# Copyright (c) vdetwist authors. See LICENSE for details.
"""
vdetwist's twistd plugins and endpoint parsers: declarations only.
"""

from twisted.application.service import ServiceMaker

from vdetwist.stack.endpoints import VDEClientParser, VDEServerParser

vdeswitch = ServiceMaker(
    "vdetwist switch", "vdetwist.switch.tap",
    "A Virtual Distributed Ethernet switch (vde_switch compatible)", "vdeswitch")
slirp = ServiceMaker("vdetwist slirp", "vdetwist.slirp.tap", "A NAT gateway with DHCP, DNS and port forwards (slirpvde compatible)", "slirp")

vdetutorial = ServiceMaker(
    "vdetwist tutorial", "vdetwist.tutorial.tap",
    "The port-forwarding tutorial's network: switch, slirp, three virtual hosts",
    "vdetutorial")

#: C{vde:sock=...:ip=...:port=...}: listen on a virtual host.
vdeServerParser = VDEServerParser()
#: C{vde:sock=...:ip=...:host=...:port=...}: connect from a virtual host.
vdeClientParser = VDEClientParser()
