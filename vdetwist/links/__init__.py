# Copyright (c) vdetwist authors. See LICENSE for details.
"""
What joins switches: stream cables over any Twisted endpoint and their
endpoints (C{cable}, C{cableendpoints}), VXLAN and vxvde ports (C{vxlan}),
link emulation (C{linkemu}) and the loop guard (C{loopguard}).

A link attaches to a switch through the attach contract
(L{vdetwist.interfaces.IPortProvider}) and knows nothing else of it.
"""
