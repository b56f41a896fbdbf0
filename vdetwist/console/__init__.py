# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The management console of vde_switch, once for every role: the switch,
the links and slirp each contribute a table of their own commands, and the
faces (the C{tap.py} modules) compose the tables into one console.

  - L{vdetwist.console.framing}: the protocol: prompt, data blocks, result
    codes, the end of session, byte/text conversion.
  - L{vdetwist.console.arguments}: C-compatible argument parsing
    (C{atoi}, C{sscanf}, octal modes).
  - L{vdetwist.console.table}: L{CommandTable}, what a role contributes.
  - L{vdetwist.console.session}: the session (line framing, back-pressure,
    dispatch by prefix) and the L{ConsoleFactory} composing the tables.
  - L{vdetwist.console.builtin}: C{help}, C{logout}, C{shutdown}, C{load}.
  - L{vdetwist.console.scripts}: reading C{load} and rc-file scripts.
  - L{vdetwist.console.debug}: C{debug/*} and the fan-out of debug events.
  - L{vdetwist.console.mgmt}: the UNIX socket the console listens on.
  - L{vdetwist.console.client}: the client side: splitting a console's
    byte stream and parsing its replies (C{vdetwist term}).

This package imports nothing from the roles.
"""
