"""Bounded reading of user files: the one place every reader in the package opens a file.

Why one module: a reader that trusts the file system can be made to read
/dev/zero until memory runs out, hang for ever on a FIFO, or inflate a small
``.gz`` into gigabytes.  Here a file is opened only if it is a regular file
(checked on the open descriptor, so a file swapped for a FIFO between the check
and the open is still refused; the open itself is non-blocking), reading stops
at the size limit while reading (not after), and gzip data is inflated while
streaming with the same cap on the inflated size.

Two limits, each the same for every format (YAML, BIF, XMLBIF):

- ``MAX_UPLOAD_BYTES`` for text handed to the package (uploads, ``model_from_text``);
- ``MAX_FILE_BYTES`` for files read from disk (the CLI, the models and evidence
  folders), after decompression.
"""

from __future__ import annotations

import errno
import os
import stat
import zlib
from pathlib import Path

from .errors import ForecastError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_FILE_BYTES = 16 * 1024 * 1024
_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"


def format_size(n: int) -> str:
    """5 MiB, 16 MiB, 512 KiB: limits as people write them."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _open_regular(p: Path, what: str, error: type[Exception]) -> int:
    """A read-only descriptor on a regular file, or `error` naming what the path is instead."""
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        raise error(f"{p}: {what} file not found") from None
    except OSError as exc:
        raise error(f"{p}: cannot read {what} file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        kind = _kind(mode)
        if kind == "a folder":
            raise error(f"{p}: expected a {what} file, found a folder")
        raise error(f"{p}: {what} file is {kind}; only regular files are read")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except OSError as exc:
        raise error(f"{p}: cannot read {what} file: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):  # swapped between the stat and the open
        os.close(fd)
        raise error(f"{p}: {what} file is {_kind(mode)}; only regular files are read")
    return fd


def _too_big(
    p: Path | str, what: str, limit: int, error: type[Exception], inflated: bool
) -> Exception:
    detail = " when decompressed" if inflated else ""
    return error(f"{p}: {what} file is over the {format_size(limit)} limit{detail}")


def read_bytes_bounded(
    path: str | os.PathLike[str],
    limit: int = MAX_FILE_BYTES,
    what: str = "model",
    error: type[Exception] = ForecastError,
    decompress: bool = False,
) -> bytes:
    """The file's bytes, at most `limit` of them (after inflating gzip data when `decompress`).

    Refuses anything but a regular file, and stops reading as soon as the limit
    is passed, so a file that grows or lies about its size costs at most
    `limit` bytes.  With `decompress`, data starting with the gzip magic bytes
    is inflated while it streams in; the compressed input is capped at `limit` too.
    """
    p = Path(path)
    fd = _open_regular(p, what, error)
    try:
        with os.fdopen(fd, "rb", buffering=0) as fh:
            raw = _read_capped(fh, limit, p, what, error)
    except OSError as exc:
        if exc.errno == errno.EAGAIN:
            raise error(f"{p}: {what} file cannot be read without waiting") from None
        raise error(f"{p}: cannot read {what} file: {exc.strerror or exc}") from None
    if decompress and raw[:2] == _GZIP_MAGIC:
        return gunzip_bounded(raw, limit, str(p), what, error)
    return raw


def _read_capped(fh: object, limit: int, p: Path, what: str, error: type[Exception]) -> bytes:
    parts: list[bytes] = []
    size = 0
    read = fh.read  # type: ignore[attr-defined]
    while True:
        chunk = read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise _too_big(p, what, limit, error, inflated=False)
    return b"".join(parts)


def gunzip_bounded(
    data: bytes, limit: int, name: str, what: str = "model", error: type[Exception] = ForecastError
) -> bytes:
    """Inflate gzip data (several members allowed), refusing as soon as the output passes `limit`."""
    out: list[bytes] = []
    size = 0
    rest = data
    try:
        while rest:
            d = zlib.decompressobj(wbits=31)
            # max_length: one call never inflates more than one byte past the room left
            piece = d.decompress(rest, limit + 1 - size)
            out.append(piece)
            size += len(piece)
            if size > limit:
                raise _too_big(name, what, limit, error, inflated=True)
            if not d.eof:
                raise error(f"{name}: the gzip data is truncated")
            rest = d.unused_data
            if rest[:2] != _GZIP_MAGIC:
                if rest.strip(b"\x00"):
                    raise error(f"{name}: unexpected data after the gzip stream")
                break
    except zlib.error as exc:
        raise error(f"{name}: not a valid gzip file ({exc})") from None
    return b"".join(out)


def decode_utf8(data: bytes, name: str, what: str, error: type[Exception]) -> str:
    """UTF-8 text (a leading byte-order mark dropped), or `error` giving the bad byte's offset."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise error(f"{name}: {what} file is not valid UTF-8 text (byte {exc.start})") from None


def check_size(
    data: str | bytes, name: str, what: str, error: type[Exception], limit: int = MAX_UPLOAD_BYTES
) -> None:
    """Refuse text or bytes handed in (an upload) that is over `limit` bytes, before any parsing."""
    if isinstance(data, str):
        # a str of n characters is at least n bytes in UTF-8: skip the encoding when it is clearly over
        size = len(data) if len(data) > limit else len(data.encode("utf-8", "surrogatepass"))
    else:
        size = len(data)
    if size > limit:
        raise error(f"{name}: {what} is over the {format_size(limit)} upload limit")
