# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The one thing setup.cfg cannot say: vdetwist's optional C helper,
vdetwist.wire._checksum (the Internet checksum, a tenth of the pure-Python
sum's cost per segment; docs/performance.txt).  Built on CPython only (PyPy
sums machine words in its JIT, and its C-API layer would cost more than
the sum); optional: without a compiler and Python's headers the install
goes on, and vdetwist.wire.checksum uses the pure-Python sum.
"""

import platform

from setuptools import Extension, setup

extensions = []
if platform.python_implementation() == "CPython":
    extensions.append(Extension("vdetwist.wire._checksum", ["vdetwist/wire/_checksum.c"],
                                optional=True))

setup(ext_modules=extensions)
