"""Team elicitation: several analysts estimate a model's numbers in Delphi rounds.

A facilitator opens an elicitation on a model, naming the quantities asked (driver
priors, CPT rows, ranked-node weights; by default the ones the outcome is most
sensitive to) and the participants.  In each round every participant gives their
numbers and a one-line reason; while a round is open nobody sees anyone else's
answers.  When the facilitator closes a round, each participant sees the group's
median and spread, the anonymous reasons and where their own answer stands, and
revises in the next round.  The answers are pooled linearly (the mean of the
participants' tables) or logarithmically (the normalised geometric mean), the
pooled numbers can be written into a new model file, and the disagreement table
ranks the quantities by how much the outcome moves across the team's answers.

The method and its sources are in docs/elicitation.md.  Everything is stored in
the journal's database, with the journal's integrity rules: nothing is silently
overwritten, a closed round is frozen, and a participant writes only their own
answers while the round is open.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import json
import math
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import journal, writer
from .errors import JournalError, ModelError
from .journal import records, storage
from .journal.storage import Conn
from .model import EvidenceLike, Model
from .spec import RankedCPT, spec_from_dict

__all__ = [
    "Elicitation",
    "ElicitationError",
    "Quantity",
    "answer",
    "close",
    "close_round",
    "disagreement",
    "feedback",
    "get",
    "my_answers",
    "open_elicitation",
    "pool",
    "pooled_model",
    "progress",
    "write_pooled_model",
]

Pooling = Literal["linear", "log"]
MAX_REASON = 500
MAX_NAME = 100
MAX_PARTICIPANTS = 200
MAX_QUANTITIES = 200
DEFAULT_QUANTITIES = 8


class ElicitationError(JournalError):
    """An elicitation step is refused (unknown participant, closed round, bad numbers...)."""


# ---------------------------------------------------------------- quantities


@dataclasses.dataclass(frozen=True)
class Quantity:
    """One thing asked: a CPT row of a table node, or a ranked node's weights.

    `labels` are the node's states (a row) or the parents (weights); `current` is
    the model's own value, shown to participants as a starting point.
    """

    node: str
    kind: Literal["row", "weights"]
    when: tuple[tuple[str, str], ...]
    labels: tuple[str, ...]
    current: tuple[float, ...]

    @property
    def id(self) -> str:
        if self.kind == "weights":
            return f"{self.node}:weights"
        if not self.when:
            return self.node
        return self.node + "|" + ",".join(f"{p}={s}" for p, s in self.when)

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "kind": self.kind,
            "when": dict(self.when),
            "labels": list(self.labels),
            "current": list(self.current),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Quantity:
        return cls(
            node=str(data["node"]),
            kind=data["kind"],
            when=tuple((str(k), str(v)) for k, v in dict(data["when"]).items()),
            labels=tuple(str(x) for x in data["labels"]),
            current=tuple(float(x) for x in data["current"]),
        )


def quantities_of(model: Model, node: str) -> list[Quantity]:
    """Every quantity an analyst could be asked about one node."""
    spec = model.node(node)
    if isinstance(spec.cpt, RankedCPT):
        return [
            Quantity(
                node=node,
                kind="weights",
                when=(),
                labels=tuple(spec.parents),
                current=tuple(float(spec.cpt.weights.get(p, 0.0)) for p in spec.parents),
            )
        ]
    table = model.cpt(node)
    parent_states = [model.states(p) for p in spec.parents]
    out = []
    for combo in itertools.product(*(range(len(s)) for s in parent_states)):
        when = tuple(
            (p, parent_states[i][k])
            for i, (p, k) in enumerate(zip(spec.parents, combo, strict=True))
        )
        out.append(
            Quantity(
                node=node,
                kind="row",
                when=when,
                labels=tuple(spec.states),
                current=tuple(float(x) for x in table[combo]),
            )
        )
    return out


def find_quantity(model: Model, qid: str) -> Quantity:
    """A quantity by its id ('node', 'node|parent=state,...' or 'node:weights')."""
    node = qid.split("|", 1)[0].split(":", 1)[0]
    model.node(node)
    for q in quantities_of(model, node):
        if q.id == qid:
            return q
    choices = [q.id for q in quantities_of(model, node)][:6]
    raise ElicitationError(f"model '{model.id}' has no quantity '{qid}'; for example {choices}")


def suggested_quantities(
    model: Model, target: str | None = None, limit: int = DEFAULT_QUANTITIES
) -> list[Quantity]:
    """The quantities the outcome is most sensitive to (from parameter sensitivity)."""
    from .analysis import parameter_sensitivity

    node = target or (model.outcomes or model.nodes[-1:])[0]
    # every state of the target: a row matters if it moves any of them
    table = pd.concat(
        [parameter_sensitivity(model, (node, st)) for st in model.states(node)], ignore_index=True
    )
    table = table.sort_values("swing", ascending=False, kind="stable")
    chosen: list[Quantity] = []
    seen: set[str] = set()
    for row in table.itertuples(index=False):
        qs = quantities_of(model, str(row.node))
        q: Quantity | None
        if qs and qs[0].kind == "weights":
            q = qs[0]
        else:
            q = next(
                (x for x in qs if _row_label(model, x) == str(row.parent_states)),
                qs[0] if qs else None,
            )
        if q is None or q.id in seen:
            continue
        seen.add(q.id)
        chosen.append(q)
        if len(chosen) >= limit:
            break
    if not chosen:
        raise ElicitationError(f"nothing in model '{model.id}' moves '{node}'; name the quantities")
    return chosen


def _row_label(model: Model, q: Quantity) -> str:
    # parameter_sensitivity labels a row the way analysis._parent_label does
    from .analysis import _parent_label

    spec = model.node(q.node)
    combo = tuple(model.states(p).index(s) for p, s in q.when)
    return _parent_label(model, spec.id, combo)


# ---------------------------------------------------------------- records


@dataclasses.dataclass(frozen=True)
class Elicitation:
    id: str
    model_id: str
    model_path: str
    model_hash: str
    facilitator: str
    participants: tuple[str, ...]
    quantities: tuple[Quantity, ...]
    round: int
    status: Literal["open", "closed"]
    created_at: str
    pooling: str

    def quantity(self, qid: str) -> Quantity:
        for q in self.quantities:
            if q.id == qid:
                return q
        raise ElicitationError(
            f"elicitation '{self.id}' does not ask about '{qid}'; it asks about "
            + ", ".join(q.id for q in self.quantities)
        )


_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS elicitations (
        id TEXT PRIMARY KEY,
        model_id TEXT NOT NULL,
        model_path TEXT NOT NULL,
        model_hash TEXT NOT NULL,
        facilitator TEXT NOT NULL,
        participants TEXT NOT NULL,
        quantities TEXT NOT NULL,
        round INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
        created_at TEXT NOT NULL,
        closed_at TEXT,
        pooling TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE TABLE IF NOT EXISTS elicitation_answers (
        elicitation_id TEXT NOT NULL REFERENCES elicitations(id),
        round INTEGER NOT NULL,
        participant TEXT NOT NULL,
        quantity TEXT NOT NULL,
        answer TEXT NOT NULL,
        reason TEXT NOT NULL,
        answered_at TEXT NOT NULL,
        PRIMARY KEY (elicitation_id, round, participant, quantity)
    )""",
]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def _db(db: str | os.PathLike[str] | None, create: bool) -> Iterator[Conn | None]:
    """The journal's connection (SQLite or PostgreSQL), with the elicitation tables.

    Writers create the tables on first use; a reader of a journal without them
    sees no elicitation (None), as for a journal that does not exist yet.
    """
    with storage.connection(db, create, "working on an elicitation") as conn:
        if conn is not None and create:

            def make_tables(c: Conn) -> None:
                for statement in _SCHEMA:
                    c.run(statement)

            conn.write(make_tables)
        if conn is not None and not create and not _have_tables(conn):
            yield None
            return
        yield conn


def _have_tables(conn: Conn) -> bool:
    if conn.dialect == "postgresql":
        return bool(conn.one("SELECT to_regclass('elicitations') IS NOT NULL")[0])
    return bool(conn.one("SELECT count(*) FROM sqlite_master WHERE name = 'elicitations'")[0])


def _text(value: Any, what: str, limit: int) -> str:
    return records.text(value, what, limit, one_line=True)


def _load(conn: Conn, elicitation_id: str, lock: bool = False) -> Elicitation:
    """The stored elicitation; `lock` holds its row until the transaction ends (PostgreSQL;
    SQLite's write transaction already excludes other writers)."""
    row = conn.one(
        "SELECT id, model_id, model_path, model_hash, facilitator, participants, quantities,"
        " round, status, created_at, pooling FROM elicitations WHERE id = ?"
        + (" FOR UPDATE" if lock and conn.dialect == "postgresql" else ""),
        (elicitation_id,),
    )
    if not row:
        raise ElicitationError(f"no elicitation '{elicitation_id}' in the journal")
    return Elicitation(
        id=row[0],
        model_id=row[1],
        model_path=row[2],
        model_hash=row[3],
        facilitator=row[4],
        participants=tuple(json.loads(row[5])),
        quantities=tuple(Quantity.from_dict(q) for q in json.loads(row[6])),
        round=int(row[7]),
        status=row[8],
        created_at=row[9],
        pooling=row[10],
    )


def get(elicitation_id: str, *, db: str | os.PathLike[str] | None = None) -> Elicitation:
    """An elicitation as stored."""
    with _db(db, create=False) as conn:
        if conn is None:
            raise ElicitationError(f"no elicitation '{elicitation_id}' in the journal")
        return _load(conn, elicitation_id)


def list_elicitations(*, db: str | os.PathLike[str] | None = None) -> list[Elicitation]:
    with _db(db, create=False) as conn:
        if conn is None:
            return []
        ids = [r[0] for r in conn.rows("SELECT id FROM elicitations ORDER BY created_at, id")]
        return [_load(conn, i) for i in ids]


def open_elicitation(
    model: Model,
    participants: Sequence[str],
    *,
    quantities: Sequence[str | Quantity] | None = None,
    facilitator: str | None = None,
    db: str | os.PathLike[str] | None = None,
) -> Elicitation:
    """Open round 1 on `model` for `participants` (names, as in the History tab).

    `quantities` are quantity ids ('node' for a root prior, 'node|parent=state,...'
    for a CPT row, 'node:weights' for a ranked node); by default the ones the first
    outcome is most sensitive to.
    """
    if not isinstance(model, Model):
        raise ElicitationError("open an elicitation on a loaded model (forecast.load_model)")
    names = [_text(p, "participant name", MAX_NAME) for p in participants]
    if any(not n for n in names):
        raise ElicitationError("participant names may not be empty")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ElicitationError(f"participant(s) {dup} named twice")
    if not 1 <= len(names) <= MAX_PARTICIPANTS:
        raise ElicitationError(
            f"an elicitation needs between 1 and {MAX_PARTICIPANTS} participants"
        )
    if quantities is None:
        qs = suggested_quantities(model)
    else:
        qs = [q if isinstance(q, Quantity) else find_quantity(model, str(q)) for q in quantities]
    ids = [q.id for q in qs]
    if not qs or len(qs) > MAX_QUANTITIES:
        raise ElicitationError(f"ask about between 1 and {MAX_QUANTITIES} quantities")
    if len(set(ids)) != len(ids):
        raise ElicitationError("a quantity is named twice")
    fac = _text(
        facilitator if facilitator is not None else journal.default_author(),
        "facilitator",
        MAX_NAME,
    )
    elic = Elicitation(
        id=uuid.uuid4().hex[:12],
        model_id=model.id,
        model_path=str(model.path or ""),
        model_hash=model.content_hash,
        facilitator=fac,
        participants=tuple(names),
        quantities=tuple(qs),
        round=1,
        status="open",
        created_at=_now(),
        pooling="",
    )
    with _db(db, create=True) as conn:
        assert conn is not None
        with conn.transaction():
            conn.run(
                "INSERT INTO elicitations (id, model_id, model_path, model_hash, facilitator,"
                " participants, quantities, round, status, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    elic.id,
                    elic.model_id,
                    elic.model_path,
                    elic.model_hash,
                    elic.facilitator,
                    json.dumps(list(elic.participants)),
                    json.dumps([q.as_dict() for q in qs]),
                    1,
                    "open",
                    elic.created_at,
                ),
            )
    return elic


def _check_values(q: Quantity, values: Any) -> list[float]:
    """A participant's numbers: a row sums to 1 (percentages accepted), weights are positive."""
    if isinstance(values, Mapping):
        unknown = [k for k in values if k not in q.labels]
        if unknown:
            raise ElicitationError(f"{q.id}: unknown name(s) {unknown}; expected {list(q.labels)}")
        missing = [k for k in q.labels if k not in values]
        if missing:
            raise ElicitationError(f"{q.id}: no number for {missing}")
        values = [values[k] for k in q.labels]
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise ElicitationError(
            f"{q.id}: give one number per {'state' if q.kind == 'row' else 'parent'}"
        )
    if len(values) != len(q.labels):
        raise ElicitationError(
            f"{q.id}: {len(values)} numbers given for {len(q.labels)} "
            + ("states" if q.kind == "row" else "parents")
        )
    out = []
    for label, v in zip(q.labels, values, strict=True):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ElicitationError(f"{q.id}: '{label}' must be a finite number, not {v!r}")
        if q.kind == "row" and v < 0:
            raise ElicitationError(f"{q.id}: '{label}' has a negative probability ({v!r})")
        out.append(float(v))
    total = sum(out)
    if q.kind == "row":
        if abs(total - 100.0) <= 1e-6 * 100 and total > 1.5:
            out = [v / 100.0 for v in out]
            total = sum(out)
        if abs(total - 1.0) > 1e-6:
            raise ElicitationError(
                f"{q.id}: the probabilities sum to {total:.6g}; they must sum to 1 (or 100%)"
            )
        out = [v / total for v in out]
    elif not any(out):
        raise ElicitationError(f"{q.id}: at least one weight must be non-zero")
    return out


def answer(
    elicitation_id: str,
    participant: str,
    answers: Mapping[str, Any],
    *,
    reasons: Mapping[str, str] | None = None,
    db: str | os.PathLike[str] | None = None,
) -> int:
    """Give or revise `participant`'s answers in the open round; returns the round number.

    `answers` maps quantity ids to numbers (a list in the quantity's label order, or a
    mapping label -> number); `reasons` gives the one-line reason for each.
    """
    name = _text(participant, "participant name", MAX_NAME)
    reasons = dict(reasons or {})
    with _open_for_writing(db, elicitation_id, "it is closed; answers are frozen") as (conn, elic):
        if name not in elic.participants:
            raise ElicitationError(f"'{name}' is not a participant of elicitation '{elic.id}'")
        extra = [k for k in reasons if k not in answers]
        if extra:
            raise ElicitationError(f"reasons given for quantities not answered: {extra}")
        rows = []
        for qid, values in answers.items():
            q = elic.quantity(str(qid))
            nums = _check_values(q, values)
            reason = _text(reasons.get(str(qid), ""), f"{q.id}: reason", MAX_REASON)
            rows.append((elic.id, elic.round, name, q.id, json.dumps(nums), reason, _now()))
        # a participant's own row for this round: insert, or revise it while the round is open
        conn.run_many(
            "INSERT INTO elicitation_answers VALUES (?,?,?,?,?,?,?)"
            " ON CONFLICT (elicitation_id, round, participant, quantity)"
            " DO UPDATE SET answer = excluded.answer, reason = excluded.reason,"
            " answered_at = excluded.answered_at",
            rows,
        )
        return elic.round


@contextlib.contextmanager
def _open_for_writing(
    db: str | os.PathLike[str] | None, elicitation_id: str, closed: str
) -> Iterator[tuple[Conn, Elicitation]]:
    """A write transaction on an open elicitation, its row locked; `closed` says why not."""
    with _db(db, create=True) as conn:
        assert conn is not None
        with conn.transaction():
            elic = _load(conn, elicitation_id, lock=True)
            if elic.status != "open":
                raise ElicitationError(f"elicitation '{elic.id}': {closed}")
            yield conn, elic


def _answers(
    conn: Conn, elic: Elicitation, round_no: int
) -> dict[str, dict[str, tuple[list[float], str]]]:
    """quantity -> participant -> (numbers, reason) for one round."""
    out: dict[str, dict[str, tuple[list[float], str]]] = {q.id: {} for q in elic.quantities}
    for qid, who, ans, reason in conn.rows(
        "SELECT quantity, participant, answer, reason FROM elicitation_answers"
        " WHERE elicitation_id = ? AND round = ? ORDER BY participant",
        (elic.id, round_no),
    ):
        out.setdefault(qid, {})[who] = (json.loads(ans), reason)
    return out


def my_answers(
    elicitation_id: str, participant: str, *, db: str | os.PathLike[str] | None = None
) -> pd.DataFrame:
    """`participant`'s own answers in the current round, prefilled from their previous round.

    Columns: quantity, entry (a state, or a parent for weights), value, reason, answered (False where the number is the
    previous round's or the model's, shown as a starting point).
    """
    with _db(db, create=False) as conn:
        if conn is None:
            raise ElicitationError(f"no elicitation '{elicitation_id}' in the journal")
        elic = _load(conn, elicitation_id)
        if participant not in elic.participants:
            raise ElicitationError(
                f"'{participant}' is not a participant of elicitation '{elic.id}'"
            )
        now = _answers(conn, elic, elic.round)
        before = _answers(conn, elic, elic.round - 1) if elic.round > 1 else {}
    rows = []
    for q in elic.quantities:
        mine = now.get(q.id, {}).get(participant)
        prev = before.get(q.id, {}).get(participant)
        values, reason = mine or prev or (list(q.current), "")
        for label, v in zip(q.labels, values, strict=True):
            rows.append(
                {
                    "quantity": q.id,
                    "entry": label,
                    "value": v,
                    "reason": reason,
                    "answered": mine is not None,
                }
            )
    return pd.DataFrame(rows, columns=["quantity", "entry", "value", "reason", "answered"])


def progress(elicitation_id: str, *, db: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """For the facilitator: how many quantities each participant has answered this round."""
    with _db(db, create=False) as conn:
        if conn is None:
            raise ElicitationError(f"no elicitation '{elicitation_id}' in the journal")
        elic = _load(conn, elicitation_id)
        now = _answers(conn, elic, elic.round)
    rows = [
        {
            "participant": p,
            "round": elic.round,
            "answered": sum(1 for q in elic.quantities if p in now.get(q.id, {})),
            "asked": len(elic.quantities),
        }
        for p in elic.participants
    ]
    return pd.DataFrame(rows)


def close_round(
    elicitation_id: str,
    *,
    by: str | None = None,
    finish: bool = False,
    db: str | os.PathLike[str] | None = None,
) -> Elicitation:
    """Freeze the open round and open the next (or close the elicitation with `finish`)."""
    who = _text(by if by is not None else journal.default_author(), "facilitator", MAX_NAME)
    with _open_for_writing(db, elicitation_id, "it is already closed") as (conn, elic):
        if who != elic.facilitator:
            raise ElicitationError(
                f"only the facilitator ('{elic.facilitator}') closes rounds of '{elic.id}'"
            )
        answered = conn.one(
            "SELECT count(*) FROM elicitation_answers WHERE elicitation_id = ? AND round = ?",
            (elic.id, elic.round),
        )[0]
        if not answered:
            raise ElicitationError(
                f"round {elic.round} of '{elic.id}' has no answers yet; nothing to close"
            )
        if finish:
            conn.run(
                "UPDATE elicitations SET status = 'closed', closed_at = ? WHERE id = ?",
                (_now(), elic.id),
            )
        else:
            conn.run("UPDATE elicitations SET round = round + 1 WHERE id = ?", (elic.id,))
        return _load(conn, elic.id)


def close(
    elicitation_id: str, *, by: str | None = None, db: str | os.PathLike[str] | None = None
) -> Elicitation:
    """Close the elicitation after the current round."""
    return close_round(elicitation_id, by=by, finish=True, db=db)


def _last_closed_round(elic: Elicitation) -> int:
    return elic.round if elic.status == "closed" else elic.round - 1


def feedback(
    elicitation_id: str,
    participant: str | None = None,
    *,
    round: int | None = None,
    db: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """The group's answers in a closed round, anonymised.

    One row per quantity and entry (state, or parent for weights): median, low and
    high quartile, min, max, n; `mine` and `position` (below / near / above the
    median) when `participant` is given.
    The reasons are in ``attrs['reasons']`` (quantity -> list, sorted, without names).
    An open round's answers are never shown.
    """
    elic, answers, round_no = _closed_answers(
        elicitation_id, round, db, "the group's answers are shown once it closes"
    )
    rows = []
    reasons: dict[str, list[str]] = {}
    for q in elic.quantities:
        given = answers.get(q.id, {})
        reasons[q.id] = sorted(r for _, r in given.values() if r)
        if not given:
            continue
        matrix = np.asarray([v for v, _ in given.values()], dtype=float)
        mine = given.get(participant) if participant else None
        for j, label in enumerate(q.labels):
            col = matrix[:, j]
            med = float(np.median(col))
            row: dict[str, Any] = {
                "quantity": q.id,
                "entry": label,
                "n": len(col),
                "median": med,
                "q25": float(np.quantile(col, 0.25)),
                "q75": float(np.quantile(col, 0.75)),
                "min": float(col.min()),
                "max": float(col.max()),
            }
            if participant is not None:
                v = mine[0][j] if mine else float("nan")
                row["mine"] = v
                row["position"] = (
                    "no answer"
                    if not mine
                    else "near the median"
                    if abs(v - med) <= 0.02 * max(1.0, abs(med))
                    else ("above the median" if v > med else "below the median")
                )
            rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs = {"elicitation": elic.id, "round": round_no, "reasons": reasons}
    return table


# ---------------------------------------------------------------- pooling


Answers = dict[str, dict[str, tuple[list[float], str]]]  # quantity -> participant -> answer


def _answered(
    elic: Elicitation, answers: Answers
) -> Iterator[tuple[Quantity, dict[str, tuple[list[float], str]], np.ndarray]]:
    """Each quantity someone answered, with the answers and their numbers (one row each)."""
    for q in elic.quantities:
        given = answers.get(q.id, {})
        if given:
            yield q, given, np.asarray([v for v, _ in given.values()], dtype=float)


def pool_values(matrix: np.ndarray, kind: str, method: Pooling) -> np.ndarray:
    """Pool participants' answers (one row each): linear = mean, log = normalised geometric mean.

    Ranked-node weights are not probabilities (they may be negative): both methods
    pool them by their mean.
    """
    if method == "linear" or kind == "weights":
        pooled = matrix.mean(axis=0)
    elif method == "log":
        with np.errstate(divide="ignore"):
            logs = np.log(matrix)
        pooled = np.exp(logs.mean(axis=0))
    else:
        raise ElicitationError(f"pooling must be 'linear' or 'log', not {method!r}")
    if kind == "row":
        total = pooled.sum()
        if not total > 0:
            raise ElicitationError(
                "logarithmic pooling is undefined here: between them the participants give "
                "every state a probability of zero"
            )
        pooled = pooled / total
    return pooled


def pool(
    elicitation_id: str,
    method: Pooling = "linear",
    *,
    round: int | None = None,
    db: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """The pooled numbers per quantity of a closed round (the last by default).

    Columns: quantity, node, entry, pooled, current (the model's value), n.
    """
    if method not in ("linear", "log"):
        raise ElicitationError(f"pooling must be 'linear' or 'log', not {method!r}")
    elic, answers, round_no = _closed_answers(elicitation_id, round, db)
    rows = []
    for q, given, matrix in _answered(elic, answers):
        pooled = pool_values(matrix, q.kind, method)
        for label, p, c in zip(q.labels, pooled, q.current, strict=True):
            rows.append(
                {
                    "quantity": q.id,
                    "node": q.node,
                    "entry": label,
                    "pooled": float(p),
                    "current": c,
                    "n": len(given),
                }
            )
    table = pd.DataFrame(rows, columns=["quantity", "node", "entry", "pooled", "current", "n"])
    table.attrs = {"elicitation": elic.id, "round": round_no, "pooling": method}
    return table


def _closed_answers(
    elicitation_id: str,
    round: int | None,
    db: str | os.PathLike[str] | None,
    why: str = "pooling uses closed rounds only",
) -> tuple[Elicitation, Answers, int]:
    """The answers of a closed round (the last by default); an open round's stay hidden."""
    with _db(db, create=False) as conn:
        if conn is None:
            raise ElicitationError(f"no elicitation '{elicitation_id}' in the journal")
        elic = _load(conn, elicitation_id)
        last = _last_closed_round(elic)
        round_no = last if round is None else int(round)
        if round_no < 1:
            raise ElicitationError(f"round 1 of '{elic.id}' is still open: {why}")
        if round_no > last:
            raise ElicitationError(f"'{elic.id}' has no closed round {round_no}: {why}")
        return elic, _answers(conn, elic, round_no), round_no


def _spec_with(model: Model, values: Mapping[Quantity, Sequence[float]], note: str) -> Any:
    """The model's spec data with the given quantities replaced (and the note in rationales)."""
    data = model.spec.model_dump(mode="json", exclude_none=True)
    nodes = {n["id"]: n for n in data["nodes"]}
    touched: set[str] = set()
    for q, vals in values.items():
        node = nodes[q.node]
        cpt = node["cpt"]
        if q.kind == "weights":
            cpt["weights"] = {p: round(float(v), 6) for p, v in zip(q.labels, vals, strict=True)}
        else:
            when = dict(q.when)
            for row in cpt["rows"]:
                if row.get("when", {}) == when:
                    row["probabilities"] = _rounded_row(q.labels, vals)
                    break
            else:  # pragma: no cover - quantities come from the same model
                raise ModelError(f"{q.id}: no such row in node '{q.node}'")
        touched.add(q.node)
    if note:
        for nid in touched:
            old = nodes[nid].get("rationale", "")
            nodes[nid]["rationale"] = (old + "\n\n" if old else "") + note
    return data


def _rounded_row(labels: Sequence[str], vals: Sequence[float]) -> dict[str, float]:
    """Six decimals, the largest entry absorbing the rounding so the row sums to 1."""
    rounded = [round(float(v), 6) for v in vals]
    k = int(np.argmax(rounded))
    rounded[k] = round(rounded[k] + (1.0 - sum(rounded)), 6)
    return dict(zip(labels, rounded, strict=True))


def _model_with(model: Model, values: Mapping[Quantity, Sequence[float]]) -> Model:
    data = _spec_with(model, values, note="")
    # no rounding of rows here beyond _rounded_row's six decimals: enough for comparisons
    return Model(spec_from_dict(data, f"{model.id} (elicited)"))


def pooled_model(
    model: Model,
    elicitation_id: str,
    method: Pooling = "linear",
    *,
    round: int | None = None,
    db: str | os.PathLike[str] | None = None,
) -> Model:
    """`model` with every elicited quantity replaced by the pooled answer."""
    elic, values = _pooled_values(model, elicitation_id, method, round, db)
    data = _spec_with(model, values, note=_citation(elic, method))
    return Model(spec_from_dict(data, f"{model.id} (pooled)"))


def _pooled_values(
    model: Model,
    elicitation_id: str,
    method: Pooling,
    round: int | None,
    db: str | os.PathLike[str] | None,
) -> tuple[Elicitation, dict[Quantity, list[float]]]:
    elic, answers, _ = _closed_answers(elicitation_id, round, db)
    if elic.model_id != model.id:
        raise ElicitationError(
            f"elicitation '{elic.id}' was opened on model '{elic.model_id}', not '{model.id}'"
        )
    values = {q: pool_values(m, q.kind, method).tolist() for q, _, m in _answered(elic, answers)}
    return elic, values


def _citation(elic: Elicitation, method: str) -> str:
    how = (
        "linear pool (mean)"
        if method == "linear"
        else "logarithmic pool (normalised geometric mean)"
    )
    return (
        f"Numbers elicited from {len(elic.participants)} analysts in elicitation {elic.id} "
        f"(opened {elic.created_at[:10]} by {elic.facilitator}), {how} of the last closed round."
    )


def write_pooled_model(
    model: Model,
    elicitation_id: str,
    path: str | os.PathLike[str],
    method: Pooling = "linear",
    *,
    round: int | None = None,
    db: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the pooled model as a new YAML file (never the original); records the pooling."""
    target = Path(path)
    if model.path is not None and target.resolve() == Path(model.path).resolve():
        raise ElicitationError(
            f"{target}: the pooled model is written to a new file, not over the original"
        )
    if target.suffix.lower() not in (".yaml", ".yml"):
        raise ElicitationError(f"{target}: write the pooled model as a .yaml file")
    pooled = pooled_model(model, elicitation_id, method, round=round, db=db)
    # the workshop's writer: a new file, created only if none is there (never replaced)
    written = writer.save_model(pooled.spec, target).path
    with _db(db, create=True) as conn:
        assert conn is not None
        with conn.transaction():
            conn.run("UPDATE elicitations SET pooling = ? WHERE id = ?", (method, elicitation_id))
    return written


# ---------------------------------------------------------------- disagreement


def disagreement(
    model: Model,
    elicitation_id: str,
    *,
    target: str | None = None,
    scenario: EvidenceLike = None,
    method: Pooling = "linear",
    round: int | None = None,
    db: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Where the team's disagreement changes the forecast, largest effect first.

    For each quantity: `spread` is the largest gap between two participants' numbers
    (points); `swing` is the range of the target's probability (points) when each
    participant's numbers are used in turn for that quantity with every other
    quantity at the pooled value; `state` is the target state that moves most.
    """
    elic, answers, _ = _closed_answers(elicitation_id, round, db)
    _, pooled = _pooled_values(model, elicitation_id, method, round, db)
    node = target or (model.outcomes or model.nodes[-1:])[0]
    model.node(node)
    rows = []
    for q, given, matrix in _answered(elic, answers):
        spread = float((matrix.max(axis=0) - matrix.min(axis=0)).max())
        results = []
        for vals in matrix:
            trial = {**pooled, q: list(vals)}
            post = _model_with(model, trial).posteriors(scenario=scenario, targets=node)
            results.append(post["probability"].to_numpy(float))
        res = np.asarray(results)
        ranges = res.max(axis=0) - res.min(axis=0)
        k = int(np.argmax(ranges))
        rows.append(
            {
                "quantity": q.id,
                "node": q.node,
                "participants": len(given),
                "spread": 100 * spread,
                "target": node,
                "state": model.states(node)[k],
                "swing": 100 * float(ranges[k]),
                "low": float(res[:, k].min()),
                "high": float(res[:, k].max()),
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "quantity",
            "node",
            "participants",
            "spread",
            "target",
            "state",
            "swing",
            "low",
            "high",
        ],
    )
    table = table.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    table.attrs = {"elicitation": elic.id, "pooling": method, "target": node}
    return table


def participant_models(
    model: Model,
    elicitation_id: str,
    *,
    round: int | None = None,
    db: str | os.PathLike[str] | None = None,
) -> dict[str, Model]:
    """Each participant's version of the model (their answers; the model's own numbers elsewhere).

    Together with `forecast.ensemble` this shows the team's structural spread.
    """
    elic, answers, _ = _closed_answers(elicitation_id, round, db)
    out: dict[str, Model] = {}
    for who in elic.participants:
        values = {q: answers[q.id][who][0] for q in elic.quantities if who in answers.get(q.id, {})}
        if values:
            out[who] = _model_with(model, values)
    return out
