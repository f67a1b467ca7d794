"""What ``publish`` decides about each file, as pure functions of names and bytes.

Content types come from the file name (a fixed table for the web's file types, so
the answer does not depend on the machine's ``/etc/mime.types``; the standard
library's guess after that). Cache-Control comes from ordered rules: the operator's
``PATTERN=VALUE`` rules first, then the built-ins: a *fingerprinted* name (a hash in
the name, ``app.3f9a1c.js``, ``index-BzX3k9aQ.css``) never changes content, so it is
cached for a year and marked immutable; anything else is cached briefly, because a
new publish changes it in place. Checksums are S3 ETags as S3 computes them for our
own uploads (MD5, or the MD5 of part MD5s for multipart), so an unchanged file is
usually recognised from one listing, without a request per object; a SHA-256 stored in
the object's metadata settles the cases where the ETag is not an MD5 (SSE-KMS).
"""

from __future__ import annotations

import fnmatch
import hashlib
import mimetypes
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
MULTIPART_THRESHOLD = 8 * 1024 * 1024  # boto3's default; also our part size
MULTIPART_CHUNK = 8 * 1024 * 1024
DEFAULT_CONTENT_TYPE = "application/octet-stream"

# The web's file types, independent of the machine's mime.types.
_CONTENT_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".map": "application/json",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".md": "text/markdown",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".wasm": "application/wasm",
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
}
# Text types are sent with an explicit charset: browsers otherwise guess (windows-1252).
_TEXT_TYPES = ("text/", "application/json", "application/manifest+json", "application/xml")
_IMAGE_SVG = "image/svg+xml"

# A hash segment at the end of the base name, after "." or "-": 6+ lower-case hex
# characters mixing digits and letters (webpack, esbuild), or exactly 8 base64url
# characters mixing digits, upper and lower case (Vite, Rollup). Requiring the mix keeps
# words and dates ("logo-2024", "invoice-202401") out; a hash that happens to lack it
# only gets the short lifetime, which is safe.
_HEX_HASH = re.compile(r"[.-](?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{6,}$")
_B64_HASH = re.compile(
    r"[.-](?=[\w-]{0,7}[0-9])(?=[\w-]{0,7}[A-Z])(?=[\w-]{0,7}[a-z])[A-Za-z0-9_-]{8}$"
)


class RuleError(ValueError):
    """A ``--cache-control`` rule that cannot be parsed."""


@dataclass(frozen=True)
class CacheRule:
    """``pattern`` (a glob on the key, or ``fingerprinted``/``default``) -> header value."""

    pattern: str
    value: str


def content_type(name: str) -> str:
    """The Content-Type for a file name (text types with ``charset=utf-8``)."""
    suffix = PurePosixPath(name.lower()).suffix
    guessed = _CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or DEFAULT_CONTENT_TYPE
    if guessed.startswith(_TEXT_TYPES) or guessed == _IMAGE_SVG:
        return f"{guessed}; charset=utf-8"
    return guessed


def is_fingerprinted(name: str) -> bool:
    """True when the file name carries a content hash (``app.3f9a1c.js``)."""
    stem = PurePosixPath(name).name
    # Drop the extension(s) that are not the hash: "app.3f9a1c.js" -> "app.3f9a1c".
    base, dot, _extension = stem.rpartition(".")
    if not dot or not base:
        return False
    return bool(_HEX_HASH.search(base) or _B64_HASH.search(base))


def parse_cache_rules(specs: Iterable[str]) -> tuple[CacheRule, ...]:
    """``PATTERN=VALUE`` strings, in order; raise :class:`RuleError` naming a bad one."""
    rules = []
    for spec in specs:
        pattern, sep, value = spec.partition("=")
        pattern, value = pattern.strip(), value.strip()
        if not sep or not pattern or not value:
            raise RuleError(
                f"--cache-control {spec!r} is not PATTERN=VALUE "
                "(for example '*.html=no-cache' or 'default=public, max-age=60')"
            )
        if any(ch in value for ch in "\r\n"):
            raise RuleError(f"--cache-control {spec!r}: the value must be one line")
        rules.append(CacheRule(pattern, value))
    return tuple(rules)


def cache_control(key: str, rules: Sequence[CacheRule] = ()) -> str:
    """The Cache-Control for ``key``: first matching rule, then the built-ins.

    A rule's pattern is a glob matched against the whole key and against the file
    name (``*.html`` matches ``docs/index.html``); the patterns ``fingerprinted``
    and ``default`` replace the two built-in values.
    """
    fingerprinted = is_fingerprinted(key)
    name = PurePosixPath(key).name
    overrides = {}
    for rule in rules:
        if rule.pattern in ("fingerprinted", "default"):
            overrides.setdefault(rule.pattern, rule.value)
        elif fnmatch.fnmatchcase(key, rule.pattern) or fnmatch.fnmatchcase(name, rule.pattern):
            return rule.value
    if fingerprinted:
        return overrides.get("fingerprinted", IMMUTABLE)
    return overrides.get("default", SHORT)


def checksums(stream: BinaryIO, size: int) -> tuple[str, str]:
    """``(ETag, SHA-256)`` of these bytes: the ETag S3 gives our upload of them
    (quoted, as S3 returns it) and the hex SHA-256 we store as ``x-amz-meta-sha256``.

    Below the multipart threshold the ETag is the MD5; above, the MD5 of the
    concatenated part MD5s, a dash and the part count, with our part size
    (``MULTIPART_CHUNK``). That holds for SSE-S3; an SSE-KMS object's ETag is not an
    MD5, which is why the SHA-256 travels with the object as well.
    """
    sha256 = hashlib.sha256()
    parts = []
    whole = hashlib.md5(usedforsecurity=False)
    while True:
        part = stream.read(MULTIPART_CHUNK)
        if not part:
            break
        sha256.update(part)
        whole.update(part)
        parts.append(hashlib.md5(part, usedforsecurity=False).digest())
    if size < MULTIPART_THRESHOLD:
        return f'"{whole.hexdigest()}"', sha256.hexdigest()
    combined = hashlib.md5(b"".join(parts), usedforsecurity=False).hexdigest()
    return f'"{combined}-{len(parts)}"', sha256.hexdigest()
