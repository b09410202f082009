"""Untrusted names and messages made safe for terminals, pages, CSV, JSON and file names.

Whoever names the submission folders chooses the student ids, and students choose the text of
many messages (their exceptions, their file names). On Linux a folder name is any bytes but
``/`` and NUL; Python gives bytes that are not UTF-8 as lone surrogates (``b"\\xff"`` becomes
``"\\udcff"``), which no UTF-8 file can hold. What goes out:

- :func:`display_name` (terminal table, page titles and text): printable characters as they
  are; every other character as an escape: undecodable bytes as ``\\xff``, control characters
  (C0, DEL, C1), format and bidirectional controls (``\\u202e``, ``\\u200b``), line and paragraph
  separators, surrogates, private-use and unassigned code points as ``\\x1b``, ``\\u202e`` or
  ``\\U000e0001``. At most 80 characters, then ``…``.
- :func:`record_id` (the ``student_id`` column of grades.csv, ``student`` in results.json): the
  same escapes and no cut below 2,000 characters (more than any folder name gives), so an id
  that is printable UTF-8 (every id a course hands out) is written exactly as it is and a
  gradebook can match it. Backslashes
  are not escaped: the folder names ``bad\\xff`` (seven printable characters) and ``bad`` + the
  byte 0xFF both read ``bad\\xff``; the feedback file name (``feedback`` in results.json) is the
  key that is always unique.
- :func:`csv_cell`: a value starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
  (or their full-width forms) gets a leading ``'``, so that no spreadsheet runs it as a formula
  (OWASP, "CSV injection"): the id ``=HYPERLINK(...)`` is written ``'=HYPERLINK(...)`` and the id
  ``-rf`` is written ``'-rf``.
- :func:`file_stems` (feedback file names): ASCII letters, digits and ``._-@+``, other characters
  as ``_`` (accents dropped: ``José`` gives ``Jose``), no leading dot or dash, at most 100
  characters. A name that is not its own stem, or is a Windows device name (``con``, ``nul``,
  ``com1``...), or whose stem equals another student's ignoring case, gets ``-`` and 8 hex
  digits of the SHA-256 of its bytes (16 or 64 digits if even that collides). The same name
  always gets the same stem, whatever else is in the folder, unless another name collides
  with it.
- :func:`safe_text` (messages, notes, cell errors in pages and results.json): the escapes of
  :func:`display_name` except newline and tab, clipped like :func:`clip`.
"""

import hashlib
import string
import unicodedata

DISPLAY_LIMIT = 80
RECORD_LIMIT = 2000
STEM_LIMIT = 100
HASH_DIGITS = (8, 16, 64)
_STEM_CHARS = frozenset(string.ascii_letters + string.digits + "._-@+")
_DEVICES = frozenset(["con", "prn", "aux", "nul", "conin$", "conout$",
                      *(f"{p}{i}" for p in ("com", "lpt") for i in "0123456789")])
_FORMULA_START = tuple("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:            # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _safe(ch: str, keep: str) -> bool:
    # isprintable() is False for Cc, Cf, Cs, Co, Cn, Zl, Zp and every space but " "
    return ch.isprintable() or ch in keep or (ch.isspace() and unicodedata.category(ch) == "Zs")


def _escaped_prefix(text: str, limit: int, keep: str = "") -> tuple[str, int]:
    """The escaped form of the longest prefix of ``text`` that fits ``limit`` characters,
    and how many characters of ``text`` it covers. An escape is never split."""
    head = text[:limit]
    plain = head
    for ch in keep:
        plain = plain.replace(ch, " ")
    if plain.isprintable():
        return head, len(head)
    out, size, used = [], 0, 0
    for ch in head:
        piece = ch if _safe(ch, keep) else _escape(ch)
        if size + len(piece) > limit:
            break
        out.append(piece)
        size += len(piece)
        used += 1
    return "".join(out), used


def escape(text: str, keep: str = "") -> str:
    """``text`` with every character that is not printable (except those in ``keep``) written
    as an escape; undecodable bytes as ``\\xff``."""
    return _escaped_prefix(text, max(1, 10 * len(text)), keep)[0]


def _cut_marker(more: int) -> str:
    return f"… [cut: {more:,} more character{'s' if more != 1 else ''}]"


def clip(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else its start and how much was cut:
    ``"xxx… [cut: 12,345 more characters]"``."""
    if len(text) <= limit:
        return text
    return text[:limit] + _cut_marker(len(text) - limit)


def display_name(name: str, limit: int = DISPLAY_LIMIT) -> str:
    """A name for terminals and pages: printable text only, at most ``limit`` characters."""
    out, used = _escaped_prefix(name, limit)
    if used < len(name):
        out, used = _escaped_prefix(name, limit - 1)
        out += "…"
    return out


def record_id(name: str) -> str:
    """A student id for grades.csv and results.json: the id itself when it is printable
    UTF-8, with escapes otherwise (see the module docstring)."""
    return safe_text(name, RECORD_LIMIT, keep="")


def safe_text(text: str, limit: int, keep: str = "\n\t") -> str:
    """A message for pages and JSON: printable text, newlines and tabs (``keep``), at most
    ``limit`` characters (escapes included) and then how many more were cut."""
    out, used = _escaped_prefix(text, limit, keep)
    return out if used == len(text) else out + _cut_marker(len(text) - used)


def csv_cell(text: str) -> str:
    """``text`` with a leading ``'`` if a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def name_bytes(name: str) -> bytes:
    """The bytes of a name as the file system has them (undecodable bytes restored)."""
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:         # a lone surrogate that no file name can give
        return name.encode("utf-8", "surrogatepass")


def name_hash(name: str, digits: int = 8) -> str:
    return hashlib.sha256(name_bytes(name)).hexdigest()[:digits]


def _base(name: str) -> str:
    chars: list[str] = []
    for ch in unicodedata.normalize("NFKD", name):
        if ch in _STEM_CHARS:
            chars.append(ch)
        elif unicodedata.combining(ch):
            continue
        elif not chars or chars[-1] != "_":
            chars.append("_")
    return "".join(chars).lstrip(".-")


def _plain(name: str) -> bool:
    """Whether ``name`` can be its own stem."""
    base = _base(name)
    return (base == name and len(name) <= STEM_LIMIT
            and name.split(".")[0].lower() not in _DEVICES)


def _stem(name: str, level: int) -> str:
    """Level 0: the name itself; 1, 2, 3: its base and 8, 16, 64 hex digits of its hash."""
    if level == 0:
        return name
    digits = HASH_DIGITS[level - 1]
    base = _base(name).strip("_").lstrip(".-")[:STEM_LIMIT - 1 - digits] or "student"
    if base.split(".")[0].lower() in _DEVICES:     # "con.txt-..." is still a device name
        base = base.replace(".", "_", 1)
    return f"{base}-{name_hash(name, digits)}"


def file_stems(names) -> dict[str, str]:
    """A distinct, stable file stem for every name (see the module docstring).

    Stems are distinct ignoring case, so the files stay apart on any file system. The result
    depends only on the set of names, not on their order."""
    names = sorted(set(names))
    level = {n: 0 if _plain(n) else 1 for n in names}
    while True:
        groups: dict[str, list[str]] = {}
        for n in names:
            groups.setdefault(_stem(n, level[n]).lower(), []).append(n)
        clashes = [g for g in groups.values() if len(g) > 1]
        if not clashes:
            return {n: _stem(n, level[n]) for n in names}
        if all(level[n] == len(HASH_DIGITS) for g in clashes for n in g):
            break       # only names with the same bytes get here (not from one folder)
        for g in clashes:
            for n in g:
                level[n] = min(len(HASH_DIGITS), level[n] + 1)
    stems, taken = {}, set()
    for n in names:
        stem, k = _stem(n, level[n]), 1
        while stem.lower() in taken:
            k += 1
            stem = f"{_stem(n, level[n])}-{k}"
        stems[n] = stem
        taken.add(stem.lower())
    return stems


def file_stem(name: str, used=()) -> str:
    """The stem of one name, distinct (ignoring case) from the stems in ``used``."""
    taken = {u.lower() for u in used}
    for level in range(0 if _plain(name) else 1, len(HASH_DIGITS) + 1):
        stem = _stem(name, level)
        if stem.lower() not in taken:
            return stem
    k = 2
    while f"{stem}-{k}".lower() in taken:
        k += 1
    return f"{stem}-{k}"
