# -*- test-case-name: tests.console.test_arguments -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Arguments parsed as vde_switch's C code parses them: C{atoi} for the
numeric commands, C{sscanf} with C{%i}/C{%d}/C{%x} for the others (so
C{0x1} and C{077} are accepted there), C{strtol(s, 0, 8)} for octal modes
on the command line.
"""

import re
from typing import List

_SPACE = " \t\n\v\f\r"
_ATOI = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")
_SCAN = {
    "d": re.compile(r"([+-]?)([0-9]+)"),
    "x": re.compile(r"([+-]?)(?:0[xX])?([0-9a-fA-F]+)"),
    "i": re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)"),
}


def _cInt(value: int) -> int:
    """
    What C stores in an C{int} from a C{strtol} result: saturated to a
    64-bit C{long}, then truncated to 32 bits.

    @param value: the parsed number.
    @return: the C{int}.
    """
    value = max(-(1 << 63), min((1 << 63) - 1, value)) & 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def cAtoi(text: str) -> int:
    """
    C's C{atoi}: leading white space, a sign, decimal digits; anything else
    stops it, and no digits give 0.

    @param text: the text.
    @return: the number.
    """
    match = _ATOI.match(text)
    return _cInt(int(match.group(1))) if match else 0


def cScanf(text: str, fmt: str) -> List[int]:
    """
    C's C{sscanf} for the formats the console uses: C{%i}, C{%d} and C{%x}
    conversions, white space (matching any amount, none included) and
    literal characters.

    @param text: the input.
    @param fmt: the format, e.g. C{"%i %i"}.
    @return: the values converted before the first mismatch (so its length
        is C{sscanf}'s result, or 0 where C{sscanf} returns C{EOF}).
    """
    values: List[int] = []
    pos = 0
    i = 0
    n = len(text)
    while i < len(fmt):
        c = fmt[i]
        if c == "%":
            conversion = fmt[i + 1]
            i += 2
            while pos < n and text[pos] in _SPACE:
                pos += 1
            match = _SCAN[conversion].match(text, pos)
            if match is None:
                return values
            sign, digits = match.groups()
            if conversion == "d":
                value = int(digits, 10)
            elif conversion == "x":
                value = int(digits, 16)
            elif digits[:2] in ("0x", "0X"):
                value = int(digits[2:], 16)
            elif digits.startswith("0"):
                value = int(digits, 8)
            else:
                value = int(digits, 10)
            values.append(_cInt(-value if sign == "-" else value))
            pos = match.end()
        elif c in _SPACE:
            while pos < n and text[pos] in _SPACE:
                pos += 1
            i += 1
        else:
            if pos < n and text[pos] == c:
                pos += 1
                i += 1
            else:
                return values
    return values


def afterFirstWord(arg: str) -> str:
    """
    What r586's C{port/setuser} takes as the user: the text after the
    first space-delimited word and the spaces after it.

    @param arg: the argument.
    @return: the rest.
    """
    i = 0
    n = len(arg)
    while i < n and arg[i] == " ":
        i += 1
    while i < n and arg[i] != " ":
        i += 1
    while i < n and arg[i] == " ":
        i += 1
    return arg[i:]


def parseOctalMode(value: str) -> int:
    """
    Parse an octal mode as vde_switch does (C{strtol(s, 0, 8)}), for
    C{--mode}, C{--mgmtmode} and the like.

    @param value: e.g. C{"0660"}.
    @return: the mode.
    @raise ValueError: when it is not octal or out of range.
    """
    mode = int(value, 8)
    if not 0 <= mode <= 0o7777:
        raise ValueError(value)
    return mode
