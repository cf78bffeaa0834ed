"""Safe reading of user files and atomic writing of outputs.

YAML is read with a SafeLoader variant that
- treats only ``true``/``false`` as booleans (YAML 1.2), so states named ``yes``,
  ``no``, ``on`` or ``off`` stay strings;
- refuses documents that lean on many aliases (the "billion laughs" pattern),
  and files larger than a size limit, before any expansion can happen.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ALIASES = 200


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and an alias counter."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"too many aliases (more than {MAX_ALIASES}); refusing to expand")
        return super().compose_node(parent, index)


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_text(path: str | os.PathLike[str], what: str, error: type[Exception]) -> str:
    """Read a UTF-8 text file, raising `error` with a message naming the file."""
    p = Path(path)
    if not p.exists():
        raise error(f"{p}: {what} file not found")
    if p.is_dir():
        raise error(f"{p}: expected a {what} file, found a folder")
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise error(f"{p}: {what} file is {size} bytes, over the {MAX_FILE_BYTES} byte limit")
    try:
        return p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{p}: {what} file is not valid UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise error(f"{p}: cannot read {what} file: {exc.strerror}") from None


def parse_yaml(text: str, name: str, what: str, error: type[Exception]) -> Any:
    """Parse YAML text safely; `name` identifies the source in messages."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise error(f"{name}: {what} is over the {MAX_FILE_BYTES} byte limit")
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{name}: not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise error(f"{name}: YAML nesting is too deep") from None


def load_yaml(path: str | os.PathLike[str], what: str, error: type[Exception]) -> Any:
    """Read and parse a YAML file safely."""
    return parse_yaml(read_text(path, what, error), str(path), what, error)


def dump_yaml(data: Any) -> str:
    """YAML text that round-trips through `parse_yaml` (strings like 'no' are quoted)."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call `write(tmp_path)` and move the result into place only if it succeeded.

    A failed export never leaves a half-written file and never clobbers the old one.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write UTF-8 text."""
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
