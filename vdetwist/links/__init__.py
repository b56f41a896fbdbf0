# Copyright (c) vdetwist authors. See LICENSE for details.
"""
What joins switches: stream cables over any Twisted endpoint and their
endpoints (C{cable}, C{cableprotocol}, C{cableendpoints}), VXLAN and vxvde
ports (C{vxlan}), link emulation (C{linkemu}) and the loop guard
(C{loopguard}); C{switchport} is how any of them takes a switch port,
C{options} the C{twistd vdeswitch} options that compose them, C{commands}
their console commands.

A link attaches to a switch through the attach contract
(L{vdetwist.interfaces.IPortProvider}) and knows nothing else of it.  The
modules import one another in one direction only: linkemu, cableendpoints
and loopguard below switchport, below cableprotocol, below cable (the
manager), below vxlan (which registers its kinds with the manager), below
options and commands.
"""
