"""Every model-file format in one place: suffix -> reader and writer.

The project's YAML, BIF, XMLBIF, Hugin NET, GeNIe XDSL and DSL, Netica DNE,
UAI and bnlearn RDS files are read into a validated `ModelSpec`; BIF, XMLBIF,
NET and XDSL are written.  Readers are imported lazily (a command that reads
YAML never loads the XML or RData code).  This package sits below `model`:
it never imports it; `forecast.load_model` calls `read_model_file`.

What each format keeps and what it cannot carry: docs/formats.md.
"""

from __future__ import annotations

import gzip
import importlib
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ModelError
from ..safeio import (
    MAX_FILE_BYTES,
    MAX_UPLOAD_BYTES,
    check_size,
    decode_utf8,
    gunzip_bounded,
    read_bytes_bounded,
)
from ..yamlio import atomic_write
from .network import FormatWarning, Network

if TYPE_CHECKING:
    from ..spec import ModelSpec
    from .view import View

__all__ = [
    "FORMATS",
    "FormatWarning",
    "MODEL_SUFFIXES",
    "WRITABLE",
    "format_of",
    "model_to_bif",
    "model_to_xmlbif",
    "model_to_text",
    "not_carried",
    "read_model_bytes",
    "read_model_file",
    "read_model_text",
    "supported_formats",
    "write_model_file",
]

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Format:
    key: str
    title: str  # who uses it, for messages and docs
    suffixes: tuple[str, ...]
    reader: str  # "module:function" inside this package, imported on first use
    writer: str = ""
    binary: bool = False  # read as bytes (RDS), never decoded as text
    gzip_ok: bool = True  # FILE.gz accepted


FORMATS: dict[str, Format] = {
    f.key: f
    for f in (
        Format("yaml", "the project's YAML", (".yaml", ".yml"), "", gzip_ok=False),
        Format("bif", "BIF", (".bif",), "bif:parse", "bif:write"),
        Format("xmlbif", "XMLBIF", (".xmlbif", ".bifxml", ".xml"), "xmlbif:parse", "xmlbif:write"),
        Format("net", "Hugin NET", (".net",), "hugin:parse", "hugin:write"),
        Format("xdsl", "GeNIe XDSL", (".xdsl",), "genie:parse_xdsl", "genie:write_xdsl"),
        Format("dsl", "GeNIe DSL", (".dsl",), "genie:parse_dsl"),
        Format("dne", "Netica DNE", (".dne",), "netica:parse"),
        Format("uai", "UAI", (".uai",), "uai:parse"),
        Format(
            "rds",
            "bnlearn bn.fit, R",
            (".rds", ".rda", ".rdata"),
            "rds:parse",
            binary=True,
            gzip_ok=False,
        ),
    )
}
MODEL_SUFFIXES: tuple[str, ...] = tuple(s for f in FORMATS.values() for s in f.suffixes)
WRITABLE: tuple[str, ...] = tuple(k for k, f in FORMATS.items() if f.writer)


def supported_formats() -> str:
    """'.yaml/.yml (the project's YAML), .bif (BIF), ...' for messages."""
    return ", ".join(f"{'/'.join(f.suffixes)} ({f.title})" for f in FORMATS.values())


def format_of(path: str | os.PathLike[str]) -> str | None:
    """The format key from a file name (a trailing .gz is allowed where the format allows it), else None."""
    name = Path(path).name.lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    for f in FORMATS.values():
        if name.endswith(f.suffixes) and (f.gzip_ok or not gz):
            return f.key
    return None


def _resolve(ref: str) -> Callable[..., Any]:
    module, _, func = ref.partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), func)


def _unsupported(p: Path) -> ModelError:
    suffix = "".join(p.suffixes[-2:]) if p.suffix.lower() == ".gz" else p.suffix
    what = f"'{suffix}'" if suffix else "(the name has no suffix)"
    return ModelError(
        f"{p}: unsupported model file format {what}; supported: {supported_formats()}; "
        "all but YAML and the R files also gzip-compressed as FILE.gz"
    )


# ---------------------------------------------------------------- reading


def read_model_file(
    path: str | os.PathLike[str], memory_budget: int | None = None, junction_tree: bool = True
) -> ModelSpec:
    """Read any supported model file into a validated ModelSpec; every problem names the file.

    With `junction_tree` (the default) a network whose junction tree would not fit
    `memory_budget` is refused from its structure, before its tables are built;
    a conversion (export-model) passes False: it needs the tables only.

    Files are read through forecast.safeio (regular files only, at most
    MAX_FILE_BYTES once inflated).
    """
    p = Path(path)
    key = format_of(p)
    if key is None:
        raise _unsupported(p)
    if key == "yaml":
        from ..spec import load_spec

        return load_spec(p, memory_budget)
    fmt = FORMATS[key]
    raw = read_bytes_bounded(p, MAX_FILE_BYTES, "model", ModelError, decompress=not fmt.binary)
    return _parse(raw, p, key, MAX_FILE_BYTES, memory_budget, junction_tree)


def read_model_text(text: str, name: str, memory_budget: int | None = None) -> ModelSpec:
    """Model text (an uploaded file); `name` gives the format and names it in messages."""
    key = format_of(name)
    if key is None:
        raise _unsupported(Path(name))
    check_size(text, name, "model", ModelError, MAX_UPLOAD_BYTES)
    if key == "yaml":
        from ..spec import spec_from_text

        return spec_from_text(text, name, memory_budget)
    if FORMATS[key].binary:
        raise ModelError(f"{name}: a {FORMATS[key].title} file is binary; pass its bytes")
    return _parse(text.encode("utf-8"), Path(name), key, MAX_UPLOAD_BYTES, memory_budget)


def read_model_bytes(
    data: bytes, name: str | os.PathLike[str], memory_budget: int | None = None
) -> ModelSpec:
    """An uploaded file's bytes (gzip-compressed or not); `name`'s suffix gives the format."""
    p = Path(name)
    key = format_of(p)
    if key is None:
        raise _unsupported(p)
    check_size(data, str(p), "model", ModelError, MAX_UPLOAD_BYTES)
    if key == "yaml":
        from ..spec import spec_from_text

        return spec_from_text(decode_utf8(data, str(p), "model", ModelError), str(p), memory_budget)
    return _parse(data, p, key, MAX_UPLOAD_BYTES, memory_budget)


def _parse(
    data: bytes,
    p: Path,
    key: str,
    limit: int,
    memory_budget: int | None,
    junction_tree: bool = True,
) -> ModelSpec:
    from .build import to_spec

    fmt = FORMATS[key]
    if data[:2] == _GZIP_MAGIC:
        data = gunzip_bounded(data, limit, str(p), "model", ModelError)
    if not data.strip():
        raise ModelError(f"{p}: model file is empty")
    parse = _resolve(fmt.reader)
    network: Network = parse(data if fmt.binary else _decode(data, p), str(p))
    return to_spec(network, p, memory_budget, junction_tree)


def _decode(data: bytes, p: Path) -> str:
    """UTF-8; GeNIe's XML files often declare ISO-8859-1, which is honoured."""
    declared = _declared_encoding(data)
    if declared and declared.lower().replace("_", "-") not in ("utf-8", "utf8"):
        try:
            return data.decode(declared).removeprefix("\ufeff")
        except (LookupError, UnicodeDecodeError):
            raise ModelError(f"{p}: model file is not valid {declared} text") from None
    return decode_utf8(data, str(p), "model", ModelError)


def _declared_encoding(data: bytes) -> str | None:
    head = data[:200]
    if not head.startswith(b"<?xml"):
        return None
    m = re.search(rb"""encoding\s*=\s*["']([A-Za-z0-9_.\-]+)["']""", head)
    return m.group(1).decode("ascii") if m else None


# ---------------------------------------------------------------- writing


def _view(model: Any) -> View:
    from .view import View

    return View.of(model)


def model_to_text(model: Any, key: str) -> str:
    """`model` (a Model or a ModelSpec) as the text of format `key`; what the format loses is warned."""
    fmt = FORMATS.get(key)
    if fmt is None or not fmt.writer:
        raise ModelError(f"cannot write format '{key}'; writable formats are {', '.join(WRITABLE)}")
    from .view import describe_loss

    view = _view(model)
    writer = _resolve(fmt.writer)
    lost = not_carried(model, key)
    if lost:
        warnings.warn(describe_loss(fmt.title, lost), FormatWarning, stacklevel=3)
    return writer(view)


def not_carried(model: Any, key: str) -> list[str]:
    """What of `model` format `key` cannot hold, in words (what the export's warning says)."""
    fmt = FORMATS[key]
    module = importlib.import_module(f"{__name__}.{fmt.writer.split(':')[0]}")
    return _view(model).not_carried(fmt.title, getattr(module, "KEEPS", frozenset()))


def model_to_bif(model: Any) -> str:
    return model_to_text(model, "bif")


def model_to_xmlbif(model: Any) -> str:
    return model_to_text(model, "xmlbif")


def write_model_file(model: Any, path: str | os.PathLike[str], fmt: str | None = None) -> Path:
    """Write `model` in format `fmt` (default: from the file name; .gz compresses), atomically.

    Nothing is written when the model cannot be expressed in the format.
    """
    key = fmt or format_of(path)
    if key not in WRITABLE:
        raise ModelError(
            f"{path}: cannot tell the format to write; give --format {'/'.join(WRITABLE)} "
            f"(or name the file {', '.join(s for k in WRITABLE for s in FORMATS[k].suffixes[:1])})"
        )
    text = model_to_text(model, key)
    data = text.encode("utf-8")
    if str(path).lower().endswith(".gz"):
        data = gzip.compress(data, mtime=0)

    def put(tmp: Path) -> None:
        tmp.write_bytes(data)

    return atomic_write(path, put)
