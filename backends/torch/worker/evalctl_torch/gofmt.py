"""Go's fmt verbs %v and %q for the values in error messages, so that the
worker's errors read exactly like the native runtime's (backends/model)."""

import json
import math
from decimal import Decimal


def q(s):
    """Go's %q of a string (ASCII-safe JSON quoting is the same for the
    characters config keys and values use)."""
    return json.dumps(s)


def v(x):
    """Go's %v of a bool, int, float, string or list of those."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return _float(x)
    if isinstance(x, (list, tuple)):
        return "[" + " ".join(v(e) for e in x) + "]"
    return str(x)


def qs(xs):
    """Go's %q of a []string: ["a" "b"]."""
    return "[" + " ".join(q(s) for s in xs) + "]"


def _float(f):
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    sign, digits, exp = Decimal(repr(f)).as_tuple()
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exp += 1
    nd = len(digits)
    dexp = exp + nd - 1  # exponent of the first digit
    s = "-" if sign else ""
    ds = "".join(str(d) for d in digits)
    if dexp < -4 or dexp >= 21 or (dexp >= 6 and True):
        # strconv 'g' with the shortest precision uses %e from exponent 6
        m = ds[0] + ("." + ds[1:] if nd > 1 else "")
        return "%s%se%s%02d" % (s, m, "-" if dexp < 0 else "+", abs(dexp))
    if dexp >= 0:
        if nd <= dexp + 1:
            return s + ds + "0" * (dexp + 1 - nd)
        return s + ds[:dexp + 1] + "." + ds[dexp + 1:]
    return s + "0." + "0" * (-dexp - 1) + ds
