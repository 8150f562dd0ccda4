"""Turn the bytes of one exported object into JSON record texts, keeping every bad part.

Firehose concatenates SES records with no delimiter of its own; SES usually ends each record
with a newline, but neither can be relied on. Objects may be gzip whatever their name says.
This module is the careful path: DuckDB reads well-formed objects far faster, and the loader
falls back here only for an object DuckDB refuses, so one bad record costs only itself.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass

GZIP_MAGIC = b"\x1f\x8b"
EXCERPT_CHARS = 200

_DECODER = json.JSONDecoder()
# Where a record could start again after garbage: a brace at a line start or right after a closing
# one, or anywhere an SES record or SNS envelope visibly begins (with no delimiter between records,
# a good record can follow garbage directly). A false start only yields one more quarantined part.
_RESYNC = re.compile(r'(?:(?<=\n)|(?<=\}))\s*\{|\{\s*"(?:eventType|notificationType|Type)"')
_SURROGATE = re.compile("[\udc80-\udcff]")


class ObjectTooLarge(ValueError):
    """The object inflates past the configured limit (likely a gzip bomb)."""


@dataclass(frozen=True)
class Record:
    index: int  # position of the record within its object, from 0
    offset: int  # byte offset in the (decompressed) object
    text: str


@dataclass(frozen=True)
class Rejected:
    index: int
    offset: int
    reason: str
    excerpt: str


def is_gzip(data: bytes) -> bool:
    return data[:2] == GZIP_MAGIC


def decompress(data: bytes, limit: int) -> bytes:
    """Inflate gzip (by magic bytes, any number of members) up to `limit` bytes; plain data passes."""
    return inflate(data, limit)[0]


def inflate(data: bytes, limit: int) -> tuple[bytes, bool]:
    """`decompress`, and whether `data` is gzip members and nothing else (no NUL padding), which
    any gzip reader can take as it is."""
    if not is_gzip(data):
        if len(data) > limit:
            raise ObjectTooLarge(f"object is {len(data)} bytes, over the {limit}-byte limit")
        return data, False
    out = bytearray()
    rest = data
    padded = False
    while rest[:2] == GZIP_MAGIC:
        inflater = zlib.decompressobj(wbits=31)
        chunk = inflater.decompress(rest, limit - len(out) + 1)
        out += chunk
        if len(out) > limit:
            raise ObjectTooLarge(f"gzip object inflates past the {limit}-byte limit")
        if not inflater.eof:
            if inflater.unconsumed_tail:
                raise ObjectTooLarge(f"gzip object inflates past the {limit}-byte limit")
            raise ValueError("truncated gzip stream")
        rest = inflater.unused_data
        padded = padded or rest[:1] == b"\x00"
        rest = rest.lstrip(b"\x00")
    if rest.strip():
        raise ValueError("trailing bytes after gzip stream")
    return bytes(out), not padded and not rest


def split_records(data: bytes) -> tuple[list[Record], list[Rejected]]:
    """Split NDJSON or concatenated JSON into record texts; garbage becomes Rejected parts."""
    text = data.decode("utf-8", errors="surrogateescape")
    records: list[Record] = []
    rejected: list[Rejected] = []
    pos = 0
    byte_pos = 0  # byte offset of `pos`, tracked incrementally (chars != bytes in UTF-8)
    index = 0
    n = len(text)

    def advance(to: int) -> None:
        nonlocal pos, byte_pos
        byte_pos += len(text[pos:to].encode("utf-8", errors="surrogateescape"))
        pos = to

    while True:
        while pos < n and text[pos] in " \t\r\n\x00":
            pos += 1
            byte_pos += 1
        if pos >= n:
            break
        try:
            obj, end = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            nxt = _RESYNC.search(text, pos + 1)
            stop = nxt.end() - 1 if nxt and nxt.group(0).endswith("{") else (nxt.start() if nxt else n)
            reason = f"malformed JSON: {exc.msg} (at byte {byte_pos})"
            if nxt is None and text[pos:].lstrip().startswith("{") and not text.rstrip().endswith("}"):
                reason = "truncated JSON record: the object ends mid-record"
            rejected.append(Rejected(index, byte_pos, reason, _excerpt(text[pos:stop])))
            index += 1
            advance(stop)
            continue
        piece = text[pos:end]
        if not isinstance(obj, dict):
            rejected.append(
                Rejected(index, byte_pos, f"record is a JSON {type(obj).__name__}, not an object",
                         _excerpt(piece))
            )
        elif _SURROGATE.search(piece):
            rejected.append(Rejected(index, byte_pos, "invalid UTF-8 in record", _excerpt(piece)))
        else:
            records.append(Record(index, byte_pos, piece))
        index += 1
        advance(end)
    return records, rejected


def _excerpt(piece: str) -> str:
    clean = piece.encode("utf-8", errors="replace").decode("utf-8", errors="replace")
    clean = _SURROGATE.sub("\ufffd", clean)
    return clean[:EXCERPT_CHARS]
