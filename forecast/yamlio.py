"""Safe reading of user files and atomic writing of outputs.

YAML is read with a SafeLoader variant (libyaml's C parser when installed) that
- treats only ``true``/``false`` as booleans (YAML 1.2), so states named ``yes``,
  ``no``, ``on`` or ``off`` stay strings;
- accepts only the plain types a model needs: strings, numbers, booleans, null,
  lists and mappings.  Tags (``!!binary``, ``!!set``, ``!!python/...``, custom
  ``!tags``) are errors, never objects; dates stay text until the schema reads
  them where it expects a date;
- refuses a key given twice in one mapping, at any depth, naming the key and
  both lines (with plain PyYAML the last value silently wins);
- refuses, before building anything, text larger than a size limit
  (`forecast.safeio`) and documents that nest too deeply, use many aliases, or
  would expand through aliases into too many values (the "billion laughs"
  pattern): a streaming pre-scan of the parser's events counts all three in
  linear time.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from .errors import ForecastError, OutputExistsError
from .safeio import MAX_FILE_BYTES, MAX_UPLOAD_BYTES, check_size, decode_utf8, read_bytes_bounded

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_UPLOAD_BYTES",
    "atomic_write",
    "atomic_write_text",
    "dump_yaml",
    "load_yaml",
    "parse_yaml",
    "read_text",
]

MAX_ALIASES = 200
MAX_DEPTH = 64
MAX_VALUES = 1_000_000  # scalars and collections after alias expansion

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # C parser: about 5x faster
_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "str", "seq", "map")
}
_MERGE = "tag:yaml.org,2002:merge"


class _Loader(_Base):
    """SafeLoader (C-accelerated when available): YAML 1.2 booleans, plain types, unique keys."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node.tag not in _PLAIN_TAGS:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise ConstructorError(
                None,
                None,
                f"the tag '{tag}' is not allowed; use plain text, numbers, lists and mappings",
                node.start_mark,
            )
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key_node, _value in node.value:
                if key_node.tag == _MERGE:
                    continue
                key = self.construct_object(key_node, deep=True)
                name = str(key) if not isinstance(key, list | dict) else repr(key)
                line = key_node.start_mark.line + 1
                if name in first:
                    raise ConstructorError(
                        None,
                        None,
                        f"duplicate key '{name}' (first given on line {first[name]})",
                        key_node.start_mark,
                    )
                first[name] = line
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    key: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _prescan(text: str) -> None:
    """Walk the event stream once; refuse deep nesting, many aliases or a huge expansion.

    Each collection's expanded size is the sum of its children's; an alias
    counts the full size of what it names, so a billion-laughs document is
    caught without expanding it.
    """
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = []  # [anchor, size] per open collection
    aliases = 0
    total = 0

    def add(n: int) -> None:
        nonlocal total
        if stack:
            stack[-1][1] += n
        else:
            total += n
        if (stack[-1][1] if stack else total) > MAX_VALUES:
            raise yaml.YAMLError(
                f"the document expands to more than {MAX_VALUES:,} values; refusing to expand"
            )

    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise yaml.YAMLError(
                    f"too many aliases (more than {MAX_ALIASES}); refusing to expand"
                )
            add(sizes.get(event.anchor or "", 1))
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            add(1)
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise yaml.YAMLError(f"nesting deeper than {MAX_DEPTH} levels")
            stack.append([event.anchor, 1])
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            anchor, size = stack.pop()
            if anchor:
                sizes[anchor] = size
            add(size)


def read_text(path: str | os.PathLike[str], what: str, error: type[Exception]) -> str:
    """Read a UTF-8 text file (a regular file, at most MAX_FILE_BYTES), raising `error` naming it."""
    data = read_bytes_bounded(path, MAX_FILE_BYTES, what, error)
    return decode_utf8(data, str(path), what, error)


def parse_yaml(
    text: str, name: str, what: str, error: type[Exception], limit: int = MAX_UPLOAD_BYTES
) -> Any:
    """Parse YAML text safely; `name` identifies the source in messages.

    `limit` is the upload limit for text handed in, the file limit for text read from a file.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"{name}: {what} is not valid UTF-8 text (byte {exc.start})") from None
    if not isinstance(text, str):
        raise error(f"{name}: {what} must be YAML text, not {type(text).__name__}")
    check_size(text, name, what, error, limit)
    try:
        _prescan(text)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problem = " ".join(str(problem).split())  # one line, whatever the parser wrote
        raise error(f"{name}: not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise error(f"{name}: YAML nesting is too deep") from None


def load_yaml(path: str | os.PathLike[str], what: str, error: type[Exception]) -> Any:
    """Read and parse a YAML file safely."""
    return parse_yaml(read_text(path, what, error), str(path), what, error, MAX_FILE_BYTES)


def dump_yaml(data: Any) -> str:
    """YAML text that round-trips through `parse_yaml` (strings like 'no' are quoted)."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _new_file_mode(target: Path) -> int:
    """The permissions a plain `open(target, "w")` would give: the old file's, else 0o666 minus umask.

    mkstemp creates its file 0o600, which would leave every report and scenario
    unreadable to the rest of the analyst's group.
    """
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        pass
    try:  # Linux: read the umask without changing it (os.umask can only be read by setting it)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(
    path: str | os.PathLike[str], write: Callable[[Path], object], overwrite: bool = True
) -> Path:
    """Call `write(tmp_path)` and move the result into place only if it succeeded.

    A failed export never leaves a half-written file and never clobbers the old one.
    With ``overwrite=False`` the file is created only if absent, decided at the
    moment it appears: the finished temporary file is hard-linked to the target
    name, which fails if anything (a file, a symlink) is there already, so of two
    racing saves one succeeds and the other gets `OutputExistsError`.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise ForecastError(f"cannot write {target}: it is a folder")
    if not overwrite and os.path.lexists(target):
        raise OutputExistsError(f"{target} already exists; it was not replaced")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ForecastError(f"cannot write {target}: {os_error_reason(exc)}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, _new_file_mode(target))
        if overwrite:
            os.replace(tmp_path, target)
        else:
            _create_from(tmp_path, target)
    except OutputExistsError:
        tmp_path.unlink(missing_ok=True)
        raise
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise ForecastError(f"cannot write {target}: {os_error_reason(exc)}") from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return target


def os_error_reason(exc: OSError) -> str:
    """Why a write failed, in words (a full disk said plainly)."""
    if exc.errno == errno.ENOSPC:
        return "the disk is full (no space left on the device)"
    if exc.errno == errno.EDQUOT:
        return "the disk quota is exhausted"
    return exc.strerror or str(exc)


def _create_from(tmp: Path, target: Path) -> None:
    """Give the finished `tmp` the name `target` only if no such name exists (then drop `tmp`)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise OutputExistsError(f"{target} already exists; it was not replaced") from None
    except OSError as exc:
        if exc.errno not in (
            errno.EPERM,
            errno.ENOTSUP,
            errno.EOPNOTSUPP,
            errno.EXDEV,
            errno.EMLINK,
        ):
            raise
        # no hard links here (some network and FAT file systems): claim the name with O_EXCL
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise OutputExistsError(f"{target} already exists; it was not replaced") from None
        os.close(fd)
        os.replace(tmp, target)
        return
    tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike[str], text: str, overwrite: bool = True) -> Path:
    """Atomically write UTF-8 text (only if the file is absent when ``overwrite=False``)."""

    def write(p: Path) -> None:
        p.write_text(text, encoding="utf-8")

    return atomic_write(path, write, overwrite)
