# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{python -m vdetwist}: the C{vdetwist} command.
"""

import sys

from vdetwist.scripts.main import main

sys.exit(main())
