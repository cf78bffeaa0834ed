"""Saving edited models, evidence items and scenarios as reviewable YAML.

An analyst's model file is a reviewed document: its comments, key order,
quoting and line layout carry meaning.  Writing it back with a plain YAML
dumper would rewrite every line, and `git diff` would no longer show what was
edited.  Here a file is opened once (`open_yaml`), keeping its text and a
SHA-256 of its bytes; a save compares the *old* and *new* content (both as
plain data) and patches only the differences into the ruamel.yaml round-trip
tree of the original text, so unchanged lines come out byte for byte.

Saving is atomic (`yamlio.atomic_write`) and refuses to overwrite a file that
changed on disk since it was opened (`FileChangedError`): two browser sessions
editing one file cannot silently undo each other's work.

The shared entry points (the app's workshop, claims and elicitation features
write through these):

- `open_yaml(path) -> YamlFile` and `YamlFile.save(old_data, new_data)`;
- `save_model(spec, path, edit=None)`, with `Edit(opened, old, overwrite)` saying what the
  editor started from;
- `save_item(item, folder, edit=None)`, `delete_item(item_id, folder)`;
- `save_scenario_file(scenario, folder, edit=None)`, `delete_scenario_file(name, folder)`;
- `safe_child(folder, name, suffix)`: refuses names that would escape `folder`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import io
import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarfloat import ScalarFloat
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
)
from ruamel.yaml.util import load_yaml_guess_indent

from .errors import ForecastError, OutputExistsError
from .evidence import EvidenceItem, Scenario, file_in
from .spec import ModelSpec
from .yamlio import atomic_write_text, map_leaves, read_text

# Plain scalars that YAML 1.1 readers (PyYAML's default, many tools) take for booleans or null:
# always quote them in new text so the file means the same everywhere.
_AMBIGUOUS = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~)$"
)
# Text fields some schema requires even when empty (an evidence item's source, a question's text):
# written out as '' rather than dropped like other empty defaults.
_REQUIRED_TEXT = frozenset({"id", "title", "source", "node", "text"})
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class WriteError(ForecastError):
    """A file cannot be written as asked (bad name, unwritable folder, unreadable original)."""


class FileChangedError(WriteError):
    """The file on disk is not the one that was opened: saving would discard someone's changes."""


# ------------------------------------------------------------------ paths


def safe_child(folder: str | os.PathLike[str], name: str, suffix: str = ".yaml") -> Path:
    """`folder/name+suffix`, refusing names that are not plain file names or would leave `folder`."""
    return file_in(
        folder,
        name,
        suffix,
        WriteError,
        who=repr(name),
        bad="cannot be used as a file name",
        forbid="..",
    )


def inside(folder: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """`path`, refused unless it lies inside `folder` (after resolving links and '..')."""
    base = Path(folder).resolve()
    resolved = Path(path).resolve()  # a relative path is relative to the working folder, as given
    if base != resolved and base not in resolved.parents:
        raise WriteError(f"{path} is outside {folder}; refusing to write there")
    return resolved


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _disk_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise WriteError(f"cannot read {path}: {exc.strerror or exc}") from None


def _lock(path: Path) -> threading.Lock:
    key = str(path.resolve())
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


# ------------------------------------------------------------------ the round-trip document


def _yaml(text: str) -> YAML:
    """A round-trip YAML instance set up to reproduce `text` byte for byte when unchanged."""
    candidates: list[tuple[int, int, int]] = []
    try:
        _, ind, bsi = load_yaml_guess_indent(text)
        candidates.append((2, ind or 2, bsi or 0))
    except (YAMLError, ValueError, TypeError):
        pass
    candidates += [(2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4)]
    first: YAML | None = None
    for mapping, sequence, offset in candidates:
        y = YAML()
        y.preserve_quotes = True
        y.width = 4096
        y.indent(mapping=mapping, sequence=max(sequence, offset + 2), offset=offset)
        first = first or y
        try:
            if _dump(y, y.load(text)) == text:
                return y
        except (YAMLError, ValueError, TypeError):
            break
    assert first is not None
    return first


def _dump(y: YAML, doc: Any) -> str:
    out = io.StringIO()
    y.dump(doc, out)
    return out.getvalue()


def _plain(value: Any) -> Any:
    """Comparable plain data: dates as ISO text, tuples as lists, mappings as dicts."""
    return map_leaves(value, _plain_leaf)


def _plain_leaf(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    return str(value)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _short(value: Any) -> bool:
    """Small enough for a one-line flow collection (block text cannot sit inside one)."""
    return not isinstance(value, dict | list | tuple) and len(str(value)) <= 40


def _fresh(value: Any, style_of: Any = None) -> Any:
    """New content in a form that dumps readably: empty defaults dropped, long text folded."""
    if isinstance(value, dict):
        m = CommentedMap()
        for k, v in value.items():
            if not _empty(v) or (v == "" and k in _REQUIRED_TEXT):
                m[_key(k)] = _fresh(v)
        if m and len(m) <= 8 and all(_short(v) for v in value.values()):
            m.fa.set_flow_style()
        return m
    if isinstance(value, list | tuple):
        s = CommentedSeq(_fresh(v) for v in value)
        if all(_short(v) for v in value):
            s.fa.set_flow_style()
        return s
    if isinstance(value, str):
        if isinstance(style_of, FoldedScalarString) or (
            style_of is None and (len(value) > 80 and "\n" not in value)
        ):
            return _folded(value) if value == value.strip() else value
        if isinstance(style_of, LiteralScalarString) or "\n" in value:
            return LiteralScalarString(value)
        if _AMBIGUOUS.match(value):
            return DoubleQuotedScalarString(value)
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return value
    return value


def _folded(text: str, width: int = 84) -> FoldedScalarString:
    """Folded block text broken at single spaces so that lines stay under `width` characters."""
    out = FoldedScalarString(text)
    folds: list[int] = []
    start = 0
    last = -1
    for i, ch in enumerate(text):
        if ch == " " and 0 < i < len(text) - 1 and text[i - 1] != " " and text[i + 1] != " ":
            if i - start > width and last > start:
                folds.append(last)
                start = last + 1
            last = i
    if len(text) - start > width and last > start:
        folds.append(last)
    out.fold_pos = folds
    return out


def _key(k: Any) -> Any:
    return DoubleQuotedScalarString(k) if isinstance(k, str) and _AMBIGUOUS.match(k) else k


def _match_key(item: Any) -> str:
    """What identifies a list element across versions: its id, else its `when`, else itself."""
    if isinstance(item, dict):
        for k in ("id", "name"):
            if k in item:
                return f"{k}={item[k]}"
        if "when" in item:
            return "when=" + json.dumps(item["when"], sort_keys=True, default=str)
    return json.dumps(item, sort_keys=True, default=str)


def _patch(doc: Any, old: Any, new: Any) -> Any:
    """`doc` (the round-trip node holding `old`) changed to hold `new`, touching only what differs."""
    if _plain(old) == _plain(new):
        return doc
    if isinstance(new, dict) and isinstance(doc, CommentedMap) and isinstance(old, dict):
        return _patch_map(doc, old, new)
    if isinstance(new, list) and isinstance(doc, CommentedSeq) and isinstance(old, list) and old:
        return _patch_seq(doc, old, new)
    if isinstance(doc, ScalarFloat) and isinstance(new, float):
        return _like_number(doc, new)
    return _fresh(new, style_of=doc)


def _like_number(doc: ScalarFloat, new: float) -> Any:
    """A changed number written with the decimals the file used there (0.50 -> 0.30, not 0.3)."""
    width, prec = getattr(doc, "_width", None), getattr(doc, "_prec", None)
    if getattr(doc, "_exp", None) or not isinstance(width, int) or not isinstance(prec, int):
        return new
    decimals = width - prec - 1
    if decimals < 1 or new < 0 or round(new, decimals) != new:
        return new
    text = f"{new:.{decimals}f}"
    return ScalarFloat(
        new,
        width=len(text),
        prec=text.index("."),
        m_sign=False,
        m_lead0=getattr(doc, "_m_lead0", 0),
    )


def _doc_key(doc: CommentedMap, key: str) -> Any:
    """The key as the document spells it (a state named 1 may be written as a bare number)."""
    if key in doc:
        return key
    for k in doc:
        if str(k) == key:
            return k
    return None


def _patch_map(doc: CommentedMap, old: dict[str, Any], new: dict[str, Any]) -> CommentedMap:
    gone = [k for k in old if k not in new]
    came = [k for k in new if k not in old]
    if gone and len(gone) == len(came) and list(new).index(came[0]) == list(old).index(gone[0]):
        # keys renamed in place (a renamed node or state): keep each value's node and position
        for was, now in zip(gone, came, strict=True):
            dk = _doc_key(doc, was)
            if dk is None:
                continue
            value = _patch(doc[dk], old[was], new[now])
            at = list(doc).index(dk)
            del doc[dk]
            doc.insert(at, _key(now), value)
        old = {**{k: v for k, v in old.items() if k not in gone}, **{n: new[n] for n in came}}
        old = {k: old[k] for k in new if k in old}
    for key in [k for k in old if k not in new]:
        dk = _doc_key(doc, key)
        if dk is not None:
            del doc[dk]
    previous: Any = None
    for key, value in new.items():
        dk = _doc_key(doc, key)
        if dk is not None:
            if key not in old or _plain(old[key]) != _plain(value):
                doc[dk] = _patch(doc[dk], old.get(key), value)
            previous = dk
            continue
        if key in old and _plain(old[key]) == _plain(value):
            continue  # a default the file leaves out
        if key not in old and _empty(value) and not (value == "" and key in _REQUIRED_TEXT):
            continue
        position = 0 if previous is None else list(doc).index(previous) + 1
        doc.insert(position, _key(key), _fresh(value))
        previous = key
    return doc


def _patch_seq(doc: CommentedSeq, old: list[Any], new: list[Any]) -> CommentedSeq:
    if len(doc) != len(old):  # the document does not hold what we think: rewrite this list
        return _fresh(new)
    a = [_match_key(x) for x in old]
    b = [_match_key(x) for x in new]
    ops = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    # apply from the end so earlier indices stay valid
    for tag, i1, i2, j1, j2 in reversed(ops):
        if tag == "equal":
            for k in range(i2 - i1):
                doc[i1 + k] = _patch(doc[i1 + k], old[i1 + k], new[j1 + k])
            continue
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for k in range(paired):  # a renamed element keeps its place and comments
            doc[i1 + k] = _patch(doc[i1 + k], old[i1 + k], new[j1 + k])
        for k in range(i2 - 1, i1 + paired - 1, -1):
            del doc[k]
        for k, value in enumerate(new[j1 + paired : j2]):
            doc.insert(i1 + paired + k, _fresh(value))
    return doc


def render(text: str | None, old: Any, new: Any) -> str:
    """The YAML text for `new`, written as the edit of `text` (which holds `old`) it is.

    With no original text the content is laid out fresh.
    """
    if text is None or not text.strip():
        y = _yaml("")
        return _dump(y, _fresh(new))
    y = _yaml(text)
    try:
        doc = y.load(text)
    except YAMLError as exc:
        raise WriteError(f"the original file is not valid YAML: {exc}") from None
    if doc is None:
        return _dump(y, _fresh(new))
    return _dump(y, _patch(doc, old, new))


# ------------------------------------------------------------------ opened files


@dataclass(frozen=True)
class YamlFile:
    """A file as opened for editing: where it is, its text and the hash of that text."""

    path: Path
    text: str | None  # None: the file did not exist when opened
    sha256: str | None

    def check_unchanged(self) -> None:
        """Raise FileChangedError if the file on disk is not the one opened."""
        now = _disk_digest(self.path)
        if now == self.sha256:
            return
        if self.sha256 is None:
            raise FileChangedError(
                f"{self.path} was created by someone else since you started; "
                "reload to see it, or save under another name"
            )
        if now is None:
            raise FileChangedError(
                f"{self.path} was deleted on disk since it was opened; save anyway to recreate it, "
                "or reload"
            )
        raise FileChangedError(
            f"{self.path} was changed on disk (by another session or an editor) since it was "
            "opened; reload it to see those changes, or overwrite them on purpose"
        )

    def save(self, old: Any, new: Any, overwrite: bool = False) -> YamlFile:
        """Write `new` over this file as an edit of `old`; returns the file as now saved."""
        return _write_checked(self.path, self, old, new, lambda _text: None, overwrite)


def open_yaml(path: str | os.PathLike[str]) -> YamlFile:
    """Open a file for editing (a missing file opens as empty, to be created on save)."""
    p = Path(path)
    if not p.exists():
        return YamlFile(p, None, None)
    text = read_text(p, "YAML", WriteError)
    return YamlFile(p, text, digest(text))


def _write(path: Path, text: str, create: bool = False) -> YamlFile:
    """Save atomically; with `create`, only if no file has appeared there (another program's save)."""
    try:
        atomic_write_text(path, text, overwrite=not create)
    except OutputExistsError:
        raise FileChangedError(
            f"{path} was created by someone else meanwhile; reload it, or choose another name"
        ) from None
    return YamlFile(path, text, digest(text))


def _write_checked(
    path: Path,
    opened: YamlFile | None,
    old: Any,
    new: Any,
    check: Callable[[str], None],
    overwrite: bool,
    reread: Callable[[str], Any] | None = None,
) -> YamlFile:
    """Render, verify that the text reads back as `new`, then save with the conflict check.

    Overwriting a file someone else changed patches *their* version (`reread`
    turns its text into comparable data), so their comments survive too.
    """
    base = opened if opened is not None else open_yaml(path)
    with _lock(path):
        if not overwrite:
            base.check_unchanged()
        else:
            current = open_yaml(path)
            if current.text != base.text:
                base = current
                old = _reread(current.text, reread)
        text = render(base.text, old if base.text is not None else None, new)
        try:
            check(text)
        except ForecastError:
            text = render(None, None, new)  # never save a file that reads back differently
            check(text)
        return _write(path, text, create=base.text is None and not overwrite)


def _reread(text: str | None, reread: Callable[[str], Any] | None) -> Any:
    from .yamlio import parse_yaml

    if text is None:
        return None
    try:
        return reread(text) if reread else parse_yaml(text, "<file>", "YAML", WriteError)
    except ForecastError:
        return None


# ------------------------------------------------------------------ what an edit started from

Record = TypeVar("Record", ModelSpec, EvidenceItem, Scenario)


@dataclass(frozen=True)
class Edit(Generic[Record]):
    """What an editor started from, so a save rewrites only what it changed.

    `opened` is the file as it was when the editing started (`open_yaml`) and `old`
    the record it held; if the file changed on disk in the meantime the save raises
    FileChangedError unless `overwrite`.  No Edit: a new record, refused where a
    file or record of that name already exists.
    """

    opened: YamlFile | None = None
    old: Record | None = None
    overwrite: bool = False


def _started(edit: Edit[Record] | None) -> tuple[YamlFile | None, Record | None, bool]:
    return (None, None, False) if edit is None else (edit.opened, edit.old, edit.overwrite)


# ------------------------------------------------------------------ models


def model_data(spec: ModelSpec) -> dict[str, Any]:
    """A spec as plain data in file order, the form `render` compares."""
    data: dict[str, Any] = spec.model_dump(mode="python")
    return data


def save_model(
    spec: ModelSpec, path: str | os.PathLike[str], edit: Edit[ModelSpec] | None = None
) -> YamlFile:
    """Save `spec` to `path` as a YAML model file.

    With `edit` only the lines whose content changed since `edit.opened` are
    rewritten.  A new file (no file opened, none on disk) is laid out fresh; an
    existing file with nothing opened is refused unless `edit.overwrite`.
    """
    from .spec import spec_from_text

    opened, old, overwrite = _started(edit)
    target = Path(path)
    if target.suffix.lower() not in (".yaml", ".yml"):
        raise WriteError(f"{target}: models are saved as YAML (.yaml or .yml)")
    if opened is None and target.exists() and not overwrite:
        raise FileChangedError(f"{target} already exists; choose another name or replace it")
    if old is None and opened is not None and opened.text is not None:
        try:
            old = spec_from_text(opened.text, str(target))
        except ForecastError:
            old = None
    old_data = model_data(old) if old is not None else None

    def check(text: str) -> None:
        if spec_from_text(text, str(target)) != spec:
            raise WriteError(f"{target}: the written model would not read back as edited")

    def reread(text: str) -> Any:
        return model_data(spec_from_text(text, str(target)))

    return _write_checked(target, opened, old_data, model_data(spec), check, overwrite, reread)


# ------------------------------------------------------------------ evidence items and scenarios


def item_data(item: EvidenceItem) -> dict[str, Any]:
    data: dict[str, Any] = item.model_dump(mode="python")
    if not data.get("rationale"):
        data.pop("rationale", None)
    return data


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    data: dict[str, Any] = scenario.model_dump(mode="python", exclude={"resolved_items"})
    for k in ("title", "description", "hard", "likelihood", "fixed", "items"):
        if _empty(data.get(k)):
            data.pop(k, None)
    return data


def item_files(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """Which file holds each evidence item in `folder` (searched as `load_evidence` does)."""
    from .evidence import _item_from_dict
    from .yamlio import load_yaml

    base = Path(folder)
    found: dict[str, Path] = {}
    if not base.is_dir():
        return found
    for f in sorted(base.rglob("*")):
        if f.suffix not in (".yaml", ".yml") or "scenarios" in f.relative_to(base).parts:
            continue
        data = load_yaml(f, "evidence", WriteError)
        for entry in data if isinstance(data, list) else [data]:
            found[_item_from_dict(entry, str(f)).id] = f
    return found


def _item_text_check(item: EvidenceItem, path: Path) -> Callable[[str], None]:
    from .evidence import _item_from_dict
    from .yamlio import parse_yaml

    def check(text: str) -> None:
        data = parse_yaml(text, str(path), "evidence", WriteError)
        entries = data if isinstance(data, list) else [data]
        got = [_item_from_dict(e, str(path)) for e in entries]
        if item not in got:
            raise WriteError(f"{path}: the written item would not read back as edited")

    return check


def save_item(
    item: EvidenceItem, folder: str | os.PathLike[str], edit: Edit[EvidenceItem] | None = None
) -> YamlFile:
    """Save an evidence item into `folder`: over the file that holds it, else as `<id>.yaml`.

    A file holding several items keeps the others untouched.
    """
    opened, old, overwrite = _started(edit)
    base = Path(folder)
    where = item_files(base)
    key = old.id if old is not None else item.id
    if key in where:
        if old is None and opened is None and not overwrite:
            raise FileChangedError(
                f"an evidence item '{key}' already exists in {where[key]}; choose another id"
            )
        path = inside(base, where[key])
    elif opened is not None and opened.path.exists():
        path = inside(base, opened.path)
    else:
        path = safe_child(base, item.id)
        if path.exists() and opened is None and not overwrite:
            raise FileChangedError(f"{path} already exists; choose another id")
    if item.id != key and item.id in where:
        raise WriteError(f"an evidence item '{item.id}' already exists in {where[item.id]}")
    opened = opened if opened is not None and opened.path == path else open_yaml(path)
    old_raw, new_raw = _in_file(opened, key, item_data(item))
    return _write_checked(path, opened, old_raw, new_raw, _item_text_check(item, path), overwrite)


def _in_file(opened: YamlFile, key: str, new_entry: dict[str, Any] | None) -> tuple[Any, Any]:
    """(old, new) data for a file holding one item or a list of them, with `key` replaced."""
    from .yamlio import parse_yaml

    if opened.text is None:
        return None, new_entry
    data = parse_yaml(opened.text, str(opened.path), "evidence", WriteError)
    if isinstance(data, list):
        out = []
        done = False
        for e in data:
            if isinstance(e, dict) and str(e.get("id")) == key:
                done = True
                if new_entry is not None:
                    out.append(new_entry)
            else:
                out.append(e)
        if not done and new_entry is not None:
            out.append(new_entry)
        return data, out
    return data, new_entry


def delete_item(
    item_id: str, folder: str | os.PathLike[str], opened: YamlFile | None = None
) -> Path:
    """Remove an evidence item: its file, or its entry in a file holding several."""
    base = Path(folder)
    where = item_files(base)
    if item_id not in where:
        raise WriteError(f"no evidence item '{item_id}' in {base}")
    path = inside(base, where[item_id])
    opened = opened if opened is not None and opened.path == path else open_yaml(path)
    old_raw, new_raw = _in_file(opened, item_id, None)
    with _lock(path):
        opened.check_unchanged()
        if isinstance(new_raw, list) and new_raw:
            _write(path, render(opened.text, old_raw, new_raw))
        else:
            path.unlink()
    return path


def save_scenario_file(
    scenario: Scenario, folder: str | os.PathLike[str], edit: Edit[Scenario] | None = None
) -> YamlFile:
    """Save a scenario as `folder/<name>.yaml`, keeping the layout of the file it was read from."""
    opened, old, overwrite = _started(edit)
    from .evidence import Scenario as _Scenario
    from .yamlio import parse_yaml

    path = safe_child(folder, scenario.name)
    if opened is None:
        opened = open_yaml(path)
        if opened.text is not None and old is None and not overwrite:
            raise FileChangedError(
                f"a scenario named '{scenario.name}' already exists; choose another name or replace it"
            )
    old_raw = None
    if opened.text is not None:
        old_raw = parse_yaml(opened.text, str(path), "scenario", WriteError)
        if isinstance(old_raw, dict):
            old_raw.setdefault("name", path.stem)
    new_raw = scenario_data(scenario)
    if isinstance(old_raw, dict) and "name" not in (
        parse_yaml(opened.text or "", str(path), "scenario", WriteError) or {}
    ):
        new_raw = {k: v for k, v in new_raw.items() if not (k == "name" and v == path.stem)}
        old_raw = {k: v for k, v in old_raw.items() if k != "name"}

    def check(text: str) -> None:
        data = parse_yaml(text, str(path), "scenario", WriteError)
        data.setdefault("name", path.stem)
        got = _Scenario.model_validate(data)
        if got.model_dump(exclude={"resolved_items"}) != scenario.model_dump(
            exclude={"resolved_items"}
        ):
            raise WriteError(f"{path}: the written scenario would not read back as edited")

    return _write_checked(path, opened, old_raw, new_raw, check, overwrite)


def delete_scenario_file(
    name: str, folder: str | os.PathLike[str], opened: YamlFile | None = None
) -> Path:
    path = safe_child(folder, name)
    if not path.exists():
        raise WriteError(f"no scenario '{name}' in {folder}")
    with _lock(path):
        if opened is not None:
            opened.check_unchanged()
        path.unlink()
    return path
