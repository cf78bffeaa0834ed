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
import gc
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


class _Loader(_Base):
    """SafeLoader (C-accelerated when available) with YAML 1.2 booleans and no timestamps.

    Its parser and resolver tables are used; the objects are built by `_build`,
    which checks tags and duplicate keys on the way.
    """


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


_SCALARS = yaml.constructor.SafeConstructor()  # reused for int and float conversions only
_CONVERT: dict[str, Callable[[str], Any]] = {
    "tag:yaml.org,2002:str": str,
    "tag:yaml.org,2002:value": str,  # a plain '=' (YAML 1.1's value key) is just text
    "tag:yaml.org,2002:merge": str,  # '<<': a merge key when it is a key, see _build
    "tag:yaml.org,2002:null": lambda _v: None,
    "tag:yaml.org,2002:bool": lambda v: v.lower() == "true",
    "tag:yaml.org,2002:int": lambda v: _SCALARS.construct_yaml_int(yaml.ScalarNode("", v)),
    "tag:yaml.org,2002:float": lambda v: _SCALARS.construct_yaml_float(yaml.ScalarNode("", v)),
}
_RESOLVERS: dict[str | None, list[tuple[str, re.Pattern[str]]]] = _Loader.yaml_implicit_resolvers


def _refuse(problem: str, event: Any) -> yaml.YAMLError:
    return ConstructorError(None, None, problem, event.start_mark)


def _scalar(event: Any) -> Any:
    """A scalar event's value: plain scalars resolved as YAML 1.2-style core types, others text."""
    value: str = event.value
    tag = event.tag
    if tag is None or tag == "!":
        if not event.implicit[0]:  # quoted, or a '!'-tagged plain scalar: text
            return value
        tag = "tag:yaml.org,2002:str"
        for candidate, rx in _RESOLVERS.get(value[:1] if value else "", []):
            if rx.match(value):
                tag = candidate
                break
        else:
            for candidate, rx in _RESOLVERS.get(None, []):
                if rx.match(value):
                    tag = candidate
                    break
    convert = _CONVERT.get(tag)
    if convert is None:
        raise _refuse(_tag_problem(tag), event)
    try:
        return convert(value)
    except ValueError:
        raise _refuse(f"'{value}' is not a valid {tag.rsplit(':', 1)[-1]}", event) from None


def _tag_problem(tag: str) -> str:
    shown = tag.replace("tag:yaml.org,2002:", "!!")
    return f"the tag '{shown}' is not allowed; use plain text, numbers, lists and mappings"


class _Open:
    """A collection being built: its value, and for a mapping the key waiting for its value."""

    __slots__ = ("anchor", "first", "is_map", "key", "key_event", "merges", "size", "value")

    def __init__(self, value: Any, anchor: str | None, is_map: bool) -> None:
        self.value = value
        self.anchor = anchor
        self.is_map = is_map
        self.size = 1
        self.key: Any = _NO_KEY
        self.key_event: Any = None
        self.first: dict[str, int] = {}
        self.merges: list[Any] = []


_NO_KEY = object()


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector paused while a large document is built and validated.

    Why: building a 20,000-node model allocates close to a million containers, all
    kept; the collector's passes over them took a quarter of the time and freed
    nothing (the data holds no cycles).  Reference counting still frees the rest.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _build(text: str) -> Any:
    """The document, built in one pass over libyaml's events with every check on the way.

    Why not yaml.load: its Python constructor walks a node graph that the parser
    built first (about ten times slower on a 3 MB model), and a pre-scan was a
    third pass.  Here each event is looked at once: tags are checked, duplicate
    keys refused with both lines, nesting, aliases and the size an alias would
    expand to counted before anything is built from them.
    """
    anchors: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    stack: list[_Open] = []
    aliases = 0
    documents = 0
    root: Any = None

    def place(value: Any, size: int, event: Any) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        top = stack[-1]
        top.size += size
        if top.size > MAX_VALUES:
            raise _refuse(
                f"the document expands to more than {MAX_VALUES:,} values; refusing to expand",
                event,
            )
        if not top.is_map:
            top.value.append(value)
        elif top.key is _NO_KEY:
            top.key = value
            top.key_event = event
        else:
            key, key_event = top.key, top.key_event
            top.key = _NO_KEY
            if isinstance(key_event, yaml.ScalarEvent) and key == "<<" and key_event.implicit[0]:
                top.merges.append((value, key_event))
                return
            if isinstance(key, list | dict):
                raise _refuse(
                    "a mapping key must be a plain value, not a list or mapping", key_event
                )
            name = str(key)
            line = key_event.start_mark.line + 1
            if name in top.first:
                raise _refuse(
                    f"duplicate key '{name}' (first given on line {top.first[name]})", key_event
                )
            top.first[name] = line
            top.value[key] = value

    events: Any = yaml.parse(text, Loader=_Base)
    for event in events:
        kind = type(event)
        if kind is yaml.ScalarEvent:
            value = _scalar(event)
            if event.anchor:
                anchors[event.anchor] = value
                sizes[event.anchor] = 1
            place(value, 1, event)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            is_map = kind is yaml.MappingStartEvent
            wanted = "tag:yaml.org,2002:map" if is_map else "tag:yaml.org,2002:seq"
            if event.tag not in (None, "!", wanted):
                raise _refuse(_tag_problem(event.tag), event)
            if len(stack) >= MAX_DEPTH:
                raise _refuse(f"nesting deeper than {MAX_DEPTH} levels", event)
            opened = _Open({} if is_map else [], event.anchor, is_map)
            if event.anchor:
                anchors[event.anchor] = opened.value
            stack.append(opened)
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            done = stack.pop()
            for merged, key_event in done.merges:  # YAML merge keys: explicit keys win
                for source in merged if isinstance(merged, list) else [merged]:
                    if not isinstance(source, dict):
                        raise _refuse(
                            "a merge key ('<<') needs a mapping or a list of mappings", key_event
                        )
                    for k, v in source.items():
                        done.value.setdefault(k, v)
            if done.anchor:
                sizes[done.anchor] = done.size
            place(done.value, done.size, event)
        elif kind is yaml.AliasEvent:
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _refuse(
                    f"too many aliases (more than {MAX_ALIASES}); refusing to expand", event
                )
            if event.anchor not in anchors:
                raise _refuse(f"unknown alias '{event.anchor}'", event)
            if any(o.anchor == event.anchor for o in stack):
                raise _refuse(
                    f"the alias '{event.anchor}' refers to a collection that contains it", event
                )
            place(anchors[event.anchor], sizes.get(event.anchor, 1), event)
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _refuse("expected a single document, found more", event)
    return root


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
        with paused_gc():
            return _build(text)
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


def map_leaves(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """`value` as JSON and YAML hold data: mappings as dicts with text keys, lists and tuples
    as lists, and every other value through `leaf`."""
    if isinstance(value, dict):
        return {str(k): map_leaves(v, leaf) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [map_leaves(v, leaf) for v in value]
    return leaf(value)


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
        return f"{exc.strerror or 'No space left on device'} (the disk is full)"
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
