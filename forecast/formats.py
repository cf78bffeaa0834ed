"""Standard model formats: BIF and XMLBIF in and out (plain or gzip-compressed).

Reading uses pgmpy's BIFReader / XMLBIFReader to parse, then checks what they
return (pgmpy is lenient: a missing table or a short row would otherwise turn
into zeros) and builds an ordinary validated `ModelSpec` with one explicit
`table` CPT per node, so every part of the product works on the result.

Choices (see docs/engine.md, "Standard formats"):
- rows that miss summing to 1 by at most ROUNDING_TOLERANCE (rounding in the
  file; the bnlearn files are off by up to 3e-7) are divided by their sum, and
  the model's description says how many; a larger miss is an error;
- names the project's schema forbids (spaces, '=', ':' or ',': they clash with
  the NODE=STATE:WEIGHT syntax) have those characters replaced by '_'; the
  description lists every renamed node and state;
- the model id is the network's name, or the file's name when the network is
  unnamed ("unknown" in the bnlearn files); roles follow the graph: no parents
  -> driver, no children -> outcome, otherwise intermediate (unless the file
  carries a `role` property, as the files we write do; `label` likewise).

Writing is our own short code rather than pgmpy's writers: those sort the
variables, rename XMLBIF states that contain '-' or '.', and drop labels.
Probabilities are written with `repr`, the shortest text that reads back as the
same float, so a round trip keeps every probability (to the last bit, before the
reader's renormalisation, which moves them by at most a few 1e-16).
"""

from __future__ import annotations

import gzip
import itertools
import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .errors import ModelError
from .safeio import MAX_FILE_BYTES, MAX_UPLOAD_BYTES, check_size, read_text_bounded
from .spec import MAX_STATES, ModelSpec, spec_from_dict
from .yamlio import atomic_write

if TYPE_CHECKING:
    from .model import Model

Format = Literal["bif", "xmlbif"]

MAX_INPUT_BYTES = MAX_FILE_BYTES  # after decompression: the one file limit (forecast.safeio)
ROUNDING_TOLERANCE = 1e-3
_FORBIDDEN = re.compile(r"[\s=:,]")
_BIF_UNSAFE = re.compile(r"[{}()\[\];|\"'\\]|//|/\*|\*/")
_UNNAMED = {"", "unknown", "untitled", "none"}

BIF_SUFFIXES = (".bif",)
XMLBIF_SUFFIXES = (".xmlbif", ".xml", ".bifxml")


def format_of(path: str | os.PathLike[str]) -> Format | None:
    """'bif' or 'xmlbif' from a file name (a trailing .gz is ignored), else None."""
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(BIF_SUFFIXES):
        return "bif"
    if name.endswith(XMLBIF_SUFFIXES):
        return "xmlbif"
    return None


# ---------------------------------------------------------------- reading


def read_model_file(path: str | os.PathLike[str]) -> ModelSpec:
    """Read a BIF or XMLBIF file (plain or .gz) into a validated ModelSpec.

    Every problem is a ModelError whose message names the file.
    """
    p = Path(path)
    fmt = format_of(p)
    if fmt is None:
        raise ModelError(
            f"{p}: not a BIF or XMLBIF file name (expected .bif, .xmlbif, .bifxml or .xml, optionally .gz)"
        )
    text = _read_text(p)
    if fmt == "bif":
        network = _parse_bif(text, p)
    else:
        network = _parse_xmlbif(text, p)
    return _to_spec(network, p, fmt)


def read_model_text(text: str, name: str) -> ModelSpec:
    """Read BIF or XMLBIF text (an uploaded file); `name` gives the format and names it in messages."""
    p = Path(name)
    fmt = format_of(p)
    if fmt is None or p.name.lower().endswith(".gz"):
        raise ModelError(
            f"{p}: not a BIF or XMLBIF file name (expected .bif, .xmlbif, .bifxml or .xml)"
        )
    check_size(text, str(p), "model", ModelError, MAX_UPLOAD_BYTES)
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ModelError(f"{p}: model file is empty")
    network = _parse_bif(text, p) if fmt == "bif" else _parse_xmlbif(text, p)
    return _to_spec(network, p, fmt)


def _read_text(p: Path) -> str:
    """The file's text: a regular file, at most MAX_FILE_BYTES once inflated (forecast.safeio)."""
    text = read_text_bounded(p, MAX_FILE_BYTES, "model", ModelError, decompress=True)
    if not text.strip():
        raise ModelError(f"{p}: model file is empty")
    return text


class _Network:
    """What a reader found: names, states, parents, tables (child states x parent combinations)."""

    def __init__(
        self,
        name: str | None,
        variables: list[str],
        states: dict[str, list[str]],
        parents: dict[str, list[str]],
        tables: dict[str, np.ndarray],
        properties: dict[str, dict[str, str]],
    ) -> None:
        self.name = name
        self.variables = variables
        self.states = states
        self.parents = parents
        self.tables = tables
        self.properties = properties


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    return re.sub(r"//[^\n]*", " ", text)


def _parse_bif(text: str, p: Path) -> _Network:
    from pgmpy.readwrite import BIFReader

    body = _strip_comments(text)
    if not re.search(r"\bnetwork\b", body) or not re.search(r"\bvariable\b", body):
        raise ModelError(f"{p}: not a BIF file (no 'network' and 'variable' declarations found)")
    depth = 0
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise ModelError(f"{p}: not a valid BIF file: a '}}' closes no block")
    if depth:
        raise ModelError(f"{p}: not a valid BIF file: it ends inside a block (truncated?)")
    declared = re.findall(r"(?m)^\s*variable\s+([^\s{]+)", body)
    _check_bif_blocks(body, p)
    try:
        # pgmpy's block pattern needs a newline straight after each block's closing brace
        tidy = re.sub(r"[ \t\r]+$", "", text, flags=re.MULTILINE) + "\n"
        reader = BIFReader(string=tidy, include_properties=True)
    except Exception as exc:  # pgmpy raises whatever its regexes and float() hit
        raise ModelError(f"{p}: not a valid BIF file ({_describe(exc)})") from None
    variables = list(reader.variable_names)
    if len(variables) != len(declared):
        raise ModelError(
            f"{p}: not a valid BIF file: {len(declared)} variables declared but {len(variables)} could be read"
        )
    props = _properties(getattr(reader, "variable_properties", {}))
    missing = [v for v in variables if v not in reader.variable_cpds]
    if missing:
        raise ModelError(f"{p}: no probability table for variable(s) {', '.join(missing[:5])}")
    return _Network(
        reader.network_name,
        variables,
        {v: list(reader.variable_states[v]) for v in variables},
        {v: list(reader.variable_parents.get(v, [])) for v in variables},
        {v: np.asarray(reader.variable_cpds[v], dtype=float) for v in variables},
        props,
    )


_VARIABLE = re.compile(
    r"variable\s+([^\s{]+)\s*\{\s*type\s+discrete\s*\[\s*(\d+)\s*\]\s*\{([^}]*)\}"
)
_PROBABILITY = re.compile(r"probability\s*\(([^)]*)\)\s*\{([^}]*)\}")
_ROW = re.compile(r"\(([^)]*)\)([^;]*);")


def _check_bif_blocks(body: str, p: Path) -> None:
    """What pgmpy would only trip over: undeclared names, wrong counts, values that are not numbers."""
    states: dict[str, list[str]] = {}
    for name, count, listed in _VARIABLE.findall(body):
        names = (
            [x.strip() for x in listed.replace(",", " ").split()]
            if "," not in listed
            else [x.strip() for x in listed.split(",") if x.strip()]
        )
        if len(names) < 2:
            raise ModelError(
                f"{p}: variable '{name}' has {len(names)} state(s); at least 2 are needed"
            )
        if int(count) != len(names):
            raise ModelError(
                f"{p}: variable '{name}' declares {count} states but lists {len(names)}"
            )
        states[name] = names
    for header, block in _PROBABILITY.findall(body):
        child, _, given = header.partition("|")
        child = child.strip()
        parents = [x.strip() for x in given.replace(",", " ").split()]
        for v in [child, *parents]:
            if v not in states:
                raise ModelError(
                    f"{p}: the probability table of '{child}' names undeclared variable '{v}'"
                )
        k = len(states[child])
        combos = math.prod(len(states[q]) for q in parents)
        table = re.search(r"\btable\b([^;]*);", block)
        chunks = [table.group(1)] if table else []
        for key, values in _ROW.findall(block):
            given_states = [x.strip() for x in key.split(",")]
            for q, st in zip(parents, given_states, strict=False):
                if st not in states[q]:
                    raise ModelError(
                        f"{p}: the table of '{child}' has a row for {q}={st}, which is not a state of '{q}'"
                    )
            if len(given_states) != len(parents):
                raise ModelError(
                    f"{p}: the table of '{child}' has a row for ({key.strip()}), not one state per parent"
                )
            chunks.append(values)
            if len([x for x in values.replace(",", " ").split()]) != k:
                raise ModelError(
                    f"{p}: the table of '{child}' has a row ({key.strip()}) without {k} probabilities"
                )
        numbers = [x for c in chunks for x in c.replace(",", " ").split()]
        for x in numbers:
            try:
                float(x)
            except ValueError:
                raise ModelError(
                    f"{p}: the table of '{child}' has '{x}' where a probability should be"
                ) from None
        if table and len(numbers) != k * combos:
            raise ModelError(
                f"{p}: the table of '{child}' has {len(numbers)} numbers; expected {k * combos} "
                f"({k} states x {combos} parent combinations)"
            )


def _parse_xmlbif(text: str, p: Path) -> _Network:
    from pgmpy.readwrite import XMLBIFReader

    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        raise ModelError(f"{p}: not valid XML ({exc})") from None
    network = root.find("NETWORK")
    if network is None:
        raise ModelError(f"{p}: not an XMLBIF file (no NETWORK element)")
    if network.find("NAME") is None:
        raise ModelError(f"{p}: not a valid XMLBIF file (the NETWORK has no NAME)")
    for var in network.findall("VARIABLE"):
        name = var.findtext("NAME")
        if not name:
            raise ModelError(f"{p}: a VARIABLE has no NAME")
        kind = var.get("TYPE", "nature")
        if kind != "nature":
            raise ModelError(
                f"{p}: variable '{name}' is a {kind} node; only chance ('nature') nodes are supported"
            )
    outcomes = {v.findtext("NAME"): len(v.findall("OUTCOME")) for v in network.findall("VARIABLE")}
    for name, k in outcomes.items():
        if k < 2:
            raise ModelError(f"{p}: variable '{name}' has {k} state(s); at least 2 are needed")
    for d in network.findall("DEFINITION"):
        child = d.findtext("FOR")
        if not child:
            raise ModelError(f"{p}: a DEFINITION has no FOR")
        if d.find("TABLE") is None:
            raise ModelError(f"{p}: the DEFINITION of '{child}' has no TABLE")
        given = [g.text or "" for g in d.findall("GIVEN")]
        for v in [child, *given]:
            if v not in outcomes:
                raise ModelError(
                    f"{p}: the DEFINITION of '{child}' names undeclared variable '{v}'"
                )
        numbers = " ".join(t.text or "" for t in d.findall("TABLE")).split()
        for x in numbers:
            try:
                float(x)
            except ValueError:
                raise ModelError(
                    f"{p}: the table of '{child}' has '{x}' where a probability should be"
                ) from None
        expected = outcomes[child] * math.prod(outcomes[g] for g in given)
        if len(numbers) != expected:
            raise ModelError(
                f"{p}: the table of '{child}' has {len(numbers)} numbers; expected {expected} "
                f"({outcomes[child]} states x {expected // outcomes[child]} parent combinations)"
            )
    try:
        reader = XMLBIFReader(string=text)
    except Exception as exc:
        raise ModelError(f"{p}: not a valid XMLBIF file ({_describe(exc)})") from None
    variables = list(reader.variables)
    missing = [v for v in variables if v not in reader.variable_CPD]
    if missing:
        raise ModelError(
            f"{p}: no probability table (DEFINITION) for variable(s) {', '.join(missing[:5])}"
        )
    props = _properties(reader.variable_property)
    return _Network(
        reader.network_name,
        variables,
        {v: list(reader.variable_states[v]) for v in variables},
        {v: list(reader.variable_parents.get(v, [])) for v in variables},
        {v: np.asarray(reader.variable_CPD[v], dtype=float) for v in variables},
        props,
    )


def _properties(raw: dict[str, list[str | None]]) -> dict[str, dict[str, str]]:
    """The 'key = value' properties we write (label, role); others are ignored."""
    out: dict[str, dict[str, str]] = {}
    for var, props in raw.items():
        for prop in props:
            key, sep, value = (prop or "").partition("=")
            if sep and key.strip() in ("label", "role") and value.strip():
                out.setdefault(var, {})[key.strip()] = " ".join(value.split())
    return out


def _describe(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _safe_name(name: str) -> str:
    return _FORBIDDEN.sub("_", name.strip())


def _to_spec(net: _Network, p: Path, fmt: Format) -> ModelSpec:
    where = str(p)
    variables = net.variables
    if not variables:
        raise ModelError(f"{where}: the network has no variables")
    dup = sorted({v for v in variables if variables.count(v) > 1})
    if dup:
        raise ModelError(f"{where}: variable(s) declared twice: {', '.join(dup)}")
    known = set(variables)
    extra = sorted(set(net.tables) - known) if isinstance(net.tables, dict) else []
    if extra:
        raise ModelError(
            f"{where}: probability table for undeclared variable(s) {', '.join(extra[:5])}"
        )
    renamed: list[str] = []
    node_ids: dict[str, str] = {}
    for v in variables:
        node_ids[v] = _safe_name(v)
        if node_ids[v] != v:
            renamed.append(f"node '{v}' -> '{node_ids[v]}'")
    if len(set(node_ids.values())) != len(node_ids):
        raise ModelError(
            f"{where}: variable names clash once spaces, '=', ':' and ',' are replaced by '_'"
        )
    state_ids: dict[str, list[str]] = {}
    for v in variables:
        states = net.states[v]
        if len(states) < 2:
            raise ModelError(
                f"{where}: variable '{v}' has {len(states)} state(s); at least 2 are needed"
            )
        if len(states) > MAX_STATES:
            raise ModelError(
                f"{where}: variable '{v}' has {len(states)} states; at most {MAX_STATES} are supported"
            )
        safe = [_safe_name(s or "") for s in states]
        if any(not s for s in safe):
            raise ModelError(f"{where}: variable '{v}' has an empty state name")
        if len(set(safe)) != len(safe):
            raise ModelError(f"{where}: variable '{v}' has duplicate state names {states}")
        renamed.extend(
            f"state '{v}={s}' -> '{t}'" for s, t in zip(states, safe, strict=True) if s != t
        )
        state_ids[v] = safe
    children: dict[str, int] = dict.fromkeys(variables, 0)
    fixed_rows = 0
    worst = 0.0
    nodes = []
    for v in variables:
        parents = net.parents[v]
        unknown = [q for q in parents if q not in known]
        if unknown:
            raise ModelError(
                f"{where}: variable '{v}' has undeclared parent(s) {', '.join(unknown)}"
            )
        for q in parents:
            children[q] += 1
        k = len(state_ids[v])
        combos = math.prod(len(state_ids[q]) for q in parents)
        table = net.tables[v]
        if table.ndim != 2 or table.shape != (k, combos):
            raise ModelError(
                f"{where}: the table of '{v}' has {table.size} numbers; "
                f"expected {k * combos} ({k} states x {combos} parent combinations)"
            )
        if not np.all(np.isfinite(table)) or np.any(table < 0):
            raise ModelError(
                f"{where}: the table of '{v}' has a negative or non-numeric probability"
            )
        sums = table.sum(axis=0)
        dev = np.abs(sums - 1.0)
        bad = np.flatnonzero(dev > ROUNDING_TOLERANCE)
        if bad.size:
            j = int(bad[0])
            combo = next(
                itertools.islice(itertools.product(*(net.states[q] for q in parents)), j, None)
            )
            given = (
                ", ".join(f"{q}={s}" for q, s in zip(parents, combo, strict=True)) or "no parents"
            )
            raise ModelError(
                f"{where}: the row of '{v}' for ({given}) sums to {sums[j]:.6g}, not 1"
                + (" (missing from the file?)" if sums[j] == 0 else "")
            )
        changed = (
            dev > 1e-12
        )  # float noise in the sum is not worth a note (such rows are divided all the same)
        fixed_rows += int(np.count_nonzero(changed))
        worst = max(worst, float(dev[changed].max(initial=0.0)))
        table = table / sums
        rows: list[dict[str, Any]] = []
        parent_states = [state_ids[q] for q in parents]
        for j, combo in enumerate(itertools.product(*parent_states)):
            row: dict[str, Any] = {"probabilities": table[:, j].tolist()}
            if parents:
                row["when"] = {node_ids[q]: s for q, s in zip(parents, combo, strict=True)}
            rows.append(row)
        node: dict[str, Any] = {
            "id": node_ids[v],
            "states": state_ids[v],
            "parents": [node_ids[q] for q in parents],
            "cpt": {"type": "table", "rows": rows},
        }
        label = net.properties.get(v, {}).get("label")
        if label:
            node["label"] = label
        elif node_ids[v] != v:
            node["label"] = v
        nodes.append(node)
    for node in nodes:
        original = next(v for v in variables if node_ids[v] == node["id"])
        role = net.properties.get(original, {}).get("role")
        if role in ("driver", "intermediate", "outcome"):
            node["role"] = role
        elif not node["parents"]:
            node["role"] = "driver"
        elif children[original] == 0:
            node["role"] = "outcome"
        else:
            node["role"] = "intermediate"
    base = p.name[: -len(".gz")] if p.name.lower().endswith(".gz") else p.name
    stem = base.rsplit(".", 1)[0] or "model"
    name = (net.name or "").strip()
    model_id = _safe_name(name) if name.lower() not in _UNNAMED else _safe_name(stem)
    notes = [f"Imported from {p.name} ({fmt.upper()})."]
    if fixed_rows:
        notes.append(
            f"{fixed_rows} CPT row(s) did not sum to 1 exactly (largest difference {worst:.2g}) and were renormalised."
        )
    if renamed:
        notes.append("Renamed to fit the project's naming rules: " + "; ".join(renamed) + ".")
    data = {
        "id": model_id or "model",
        "title": name if name.lower() not in _UNNAMED else stem,
        "description": " ".join(notes),
        "nodes": nodes,
    }
    return spec_from_dict(data, where)


# ---------------------------------------------------------------- writing


def write_model_file(model: Model, path: str | os.PathLike[str], fmt: Format | None = None) -> Path:
    """Write `model` as BIF or XMLBIF (gzip-compressed when the name ends in .gz), atomically.

    `fmt` defaults to the one the file name implies.
    """
    fmt = fmt or format_of(path)
    if fmt not in ("bif", "xmlbif"):
        raise ModelError(
            f"{path}: cannot tell the format; give --format bif or xmlbif (or name the file .bif/.xmlbif)"
        )
    text = model_to_bif(model) if fmt == "bif" else model_to_xmlbif(model)
    data = text.encode("utf-8")
    if str(path).lower().endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def _num(x: float) -> str:
    return repr(float(x))


def _rows(model: Model, node: str) -> list[tuple[tuple[str, ...], list[float]]]:
    """(parent states, child distribution) for every parent combination, first parent slowest."""
    table = model.cpt(node)
    k = table.shape[-1]
    flat = table.reshape(-1, k)
    combos = itertools.product(*(model.states(q) for q in model.parents(node)))
    return [(combo, flat[j].tolist()) for j, combo in enumerate(combos)]


def model_to_bif(model: Model) -> str:
    """BIF 0.15 text, as read by pgmpy, pyAgrum, GeNIe and the bnlearn tools."""
    for n in model.nodes:
        for name in [n, *model.states(n)]:
            if _BIF_UNSAFE.search(name):
                raise ModelError(
                    f"cannot write BIF: name '{name}' (node '{n}') contains a character BIF cannot hold "
                    f"({_BIF_UNSAFE.search(name).group()!r}); use XMLBIF"
                )
    out = [f"network {model.id} {{", "}"]
    for n in model.nodes:
        out.append(f"variable {n} {{")
        out.append(
            f"  type discrete [ {len(model.states(n))} ] {{ {', '.join(model.states(n))} }};"
        )
        label = model.node(n).label
        if label:
            out.append(f"  property label = {_bif_property(label)} ;")
        out.append(f"  property role = {model.node(n).role} ;")
        out.append("}")
    for n in model.nodes:
        parents = model.parents(n)
        rows = _rows(model, n)
        if not parents:
            out.append(f"probability ( {n} ) {{")
            out.append(f"  table {', '.join(_num(x) for x in rows[0][1])};")
        else:
            out.append(f"probability ( {n} | {', '.join(parents)} ) {{")
            for combo, probs in rows:
                out.append(f"  ({', '.join(combo)}) {', '.join(_num(x) for x in probs)};")
        out.append("}")
    return "\n".join(out) + "\n"


def _bif_property(text: str) -> str:
    """A label as a quoted BIF string: characters that would end the property are dropped."""
    clean = re.sub(r"[\";{}\n\r]", " ", text)
    return '"' + " ".join(clean.split()) + '"'


def model_to_xmlbif(model: Model) -> str:
    """XMLBIF 0.3 text (Cozman's format), as read by pgmpy, pyAgrum and Weka."""
    root = ET.Element("BIF", VERSION="0.3")
    net = ET.SubElement(root, "NETWORK")
    ET.SubElement(net, "NAME").text = model.id
    for n in model.nodes:
        var = ET.SubElement(net, "VARIABLE", TYPE="nature")
        ET.SubElement(var, "NAME").text = n
        for s in model.states(n):
            ET.SubElement(var, "OUTCOME").text = s
        label = model.node(n).label
        if label:
            ET.SubElement(var, "PROPERTY").text = "label = " + " ".join(label.split())
        ET.SubElement(var, "PROPERTY").text = f"role = {model.node(n).role}"
    for n in model.nodes:
        d = ET.SubElement(net, "DEFINITION")
        ET.SubElement(d, "FOR").text = n
        for q in model.parents(n):
            ET.SubElement(d, "GIVEN").text = q
        ET.SubElement(d, "TABLE").text = " ".join(
            _num(x) for _, probs in _rows(model, n) for x in probs
        )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
