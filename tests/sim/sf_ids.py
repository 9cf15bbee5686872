"""Salesforce record ids (salesforce-rest.md §7): 15-char case-sensitive ids and
the 18-char form with the 3-letter checksum suffix."""

import itertools
import re
import threading

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_RE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")


def suffix(id15):
    out = ""
    for chunk in range(3):
        n = 0
        for j, ch in enumerate(id15[chunk * 5:chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                n |= 1 << j
        out += _SUFFIX_ALPHABET[n]
    return out


def to18(sfid):
    """The canonical 18-char id, or None if `sfid` is not a well-formed id
    (an 18-char id with a wrong checksum is not well-formed)."""
    if not isinstance(sfid, str) or not ID_RE.match(sfid):
        return None
    full = sfid[:15] + suffix(sfid[:15])
    if len(sfid) == 18 and sfid[15:].upper() != full[15:]:
        return None
    return full


class IdFactory:
    """Mints new ids: key prefix + "8S" (marks simulator-created records, so they
    never collide with fixture ids) + a 10-char base-62 serial."""

    def __init__(self):
        self._lock = threading.Lock()
        self._serial = itertools.count(1)

    def new(self, prefix):
        with self._lock:
            n = next(self._serial)
        digits = ""
        for _ in range(10):
            n, r = divmod(n, 62)
            digits = _BASE62[r] + digits
        return to18(prefix + "8S" + digits)
