"""Analyst analytics on the batch engine: drivers, indicators, evidence impact, uncertainty.

Each analysis turns one question into a single batch of scenarios (or of
parameter sets) for the junction tree, so it costs one or a few vectorised
propagations rather than a Python loop of queries (see docs/analytics.md):

- `sensitivity`: what-if per node (the tornado), and `parameter_sensitivity`:
  what-if per CPT entry;
- `indicators`: mutual information between the target and each unobserved node
  (what to collect next);
- `explain` / `explain_sequence`: each piece of evidence's contribution, left out
  one at a time and added in date order (the waterfall);
- `uncertainty`: Monte Carlo over Dirichlet draws of every CPT row, giving
  intervals on the posteriors.

Every result is a DataFrame whose ``attrs`` carry the model metadata, the
analysis, its target, its settings and the evidence used, so exports can cite
them.  Nothing here writes files, so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any, Unpack

import numpy as np
import pandas as pd

from .engine import JunctionTree, solve_fixed
from .errors import ArgumentError, EvidenceError
from .evidence import Evidence, EvidenceKeywords, EvidenceLike, combine
from .model import Model
from .results import analysis_attrs

Progress = Callable[[int, int], None]

UNCERTAINTY_CHUNK = 250  # draws per propagation; fixed so results do not depend on memory settings
LOG_ODDS_CLIP = (
    1e-12  # log-odds of certainty would be infinite: probabilities are clipped to [eps, 1 - eps]
)
NEGLIGIBLE = 1e-12  # parameter entries whose swing is below this do not matter to the target
PARAMETER_CHUNK = 128  # CPT entries per propagation in parameter_sensitivity (two scenarios each)

__all__ = [
    "explain",
    "explain_sequence",
    "indicators",
    "parameter_sensitivity",
    "parse_target",
    "sensitivity",
    "uncertainty",
    "with_intervals",
]


# ---------------------------------------------------------------- helpers


def parse_target(model: Model, target: str | tuple[str, str]) -> tuple[str, str]:
    """'node=state' (or a (node, state) pair) checked against the model."""
    if isinstance(target, tuple) and len(target) == 2:
        node, state = target
        text = f"{node}={state}"
    elif isinstance(target, str) and "=" in target:
        text = target
        node, _, state = target.partition("=")
        node, state = node.strip(), state.strip()
    else:
        raise EvidenceError(f"target '{target}': expected NODE=STATE")
    if node not in model.nodes:
        raise EvidenceError(f"target '{text}': model '{model.id}' has no node '{node}'")
    states = model.states(node)
    if state not in states:
        raise EvidenceError(
            f"target '{text}': node '{node}' has no state '{state}'; states are {states}"
        )
    return node, state


def _target_node(model: Model, target: str) -> str:
    if not isinstance(target, str) or target not in model.nodes:
        raise EvidenceError(f"target '{target}': model '{model.id}' has no node '{target}'")
    return target


def _marginals(model: Model, evs: Sequence[Evidence]) -> tuple[list[np.ndarray], np.ndarray]:
    """Raw batch marginals; scenarios whose fixed evidence cannot be met count as impossible.

    Why the fallback: `solve_fixed` refuses a whole batch when one scenario cannot
    meet its fixed distributions (setting a node may rule out a fixed state).
    """
    try:
        return model.marginals(evs)
    except EvidenceError:
        if len(evs) == 1:
            raise
    out: list[list[np.ndarray]] = [[] for _ in model.nodes]
    ok = np.zeros(len(evs), dtype=bool)
    for b, e in enumerate(evs):
        try:
            margs, good = model.marginals([e])
            ok[b] = bool(good[0])
        except EvidenceError:
            margs = [
                np.full((1, len(model.states(n))), 1.0 / len(model.states(n))) for n in model.nodes
            ]
        for v, m in enumerate(margs):
            out[v].append(m)
    return [np.concatenate(parts) for parts in out], ok


_IMPOSSIBLE = "the evidence is impossible under the model (probability zero)"
"""The message when the evidence in force has probability zero under the model."""


def _base(model: Model, ev: Evidence) -> list[np.ndarray]:
    margs, ok = _marginals(model, [ev])
    if not ok[0]:
        raise EvidenceError(_IMPOSSIBLE)
    return [m[0] for m in margs]


def _attrs(
    model: Model,
    ev: Evidence,
    kind: str,
    target: tuple[str, str],
    settings: dict[str, Any],
    **values: Any,
) -> dict[Any, Any]:  # table attrs: pandas types their keys as any hashable
    """Structured metadata (declared in forecast.results); writers put it into words."""
    return analysis_attrs(model.metadata(), ev, kind, target[0], target[1], settings, **values)


def _log_odds(p: np.ndarray | float) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), LOG_ODDS_CLIP, 1.0 - LOG_ODDS_CLIP)
    return np.log(q / (1.0 - q))


def _set_node(ev: Evidence, node: str, state: str) -> Evidence:
    """The evidence with `node` known to be in `state` (replacing any evidence on that node)."""
    return combine(ev, hard={node: state})


def _what_if(
    model: Model, ev: Evidence, target: str
) -> tuple[list[tuple[str, str]], np.ndarray, np.ndarray]:
    """Target posterior with each unobserved node set to each of its states, in one batch."""
    pairs = [
        (n, s) for n in model.nodes if n != target and n not in ev.hard for s in model.states(n)
    ]
    if not pairs:
        return [], np.zeros((0, len(model.states(target)))), np.zeros(0, dtype=bool)
    post, ok, unsure = _by_bayes_rule(model, ev, target, pairs)
    if unsure.any():  # too unlikely to divide by, or fixed evidence (refitted): propagate
        idx = np.flatnonzero(unsure)
        try:
            margs, ok_direct = _marginals(model, [_set_node(ev, *pairs[i]) for i in idx])
            post[idx], ok[idx] = margs[model.nodes.index(target)], ok_direct
        except EvidenceError:  # a single setting that cannot meet the fixed evidence
            ok[idx] = False
    return pairs, post, ok


def _by_bayes_rule(
    model: Model, ev: Evidence, target: str, pairs: list[tuple[str, str]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(target | e, x = s) for every pair, from one propagation per target state.

    Why: Bayes' rule gives P(t | e, x) = P(t | e) P(x | e, t) / P(x | e), so the
    marginals under `e` and under `e` with the target set to each state answer every
    node and state at once, where setting each in turn costs a scenario per pair.
    Evidence on x itself (a likelihood or items) is a constant once x is known, so
    it drops out as `combine` drops it.  One fixed distribution q on F is Jeffrey's
    rule, sum_f q(f) P(t | e, F = f, x), so the same per state of F; setting F itself
    replaces q.  Returns (posteriors, possible, unsure): the pairs marked unsure
    (P(x = s | e) below 1e-9, or several fixed distributions, refitted jointly) are
    left for the caller to propagate.
    """
    k = len(model.states(target))
    if len(ev.fixed) > 1:
        return np.zeros((len(pairs), k)), np.zeros(len(pairs), bool), np.ones(len(pairs), bool)
    net, ev_net = (model.intervened(ev.do), replace(ev, do={})) if ev.do else (model, ev)
    lik, fixed = net._arrays(ev_net)
    if not fixed:
        return _bayes_given(net, lik, model.nodes.index(target), pairs)[:3]
    ((f_var, q),) = fixed.items()
    post = np.zeros((len(pairs), k))
    ok = np.ones(len(pairs), dtype=bool)
    unsure = np.zeros(len(pairs), dtype=bool)
    on_f = np.array([model.nodes.index(n) == f_var for n, _ in pairs], dtype=bool)
    for f in range(len(q)):
        hit = np.zeros(len(q))
        hit[f] = 1.0
        lik_f = dict(lik)
        lik_f[f_var] = lik_f[f_var] * hit if f_var in lik_f else hit[None, :]
        post_f, ok_f, unsure_f, p_t, possible = _bayes_given(
            net, lik_f, model.nodes.index(target), pairs
        )
        if q[f] > 0:
            rest = ~on_f
            post[rest] += q[f] * post_f[rest]
            ok[rest] &= ok_f[rest]
            unsure[rest] |= unsure_f[rest]
        mine = on_f & np.array([model.states(n).index(s) == f for n, s in pairs], dtype=bool)
        post[mine], ok[mine], unsure[mine] = p_t, possible, False  # F set: q replaced
    return post, ok & ~unsure, unsure


def _bayes_given(
    model: Model, lik: dict[int, np.ndarray], tv: int, pairs: list[tuple[str, str]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """(posteriors, possible, unsure) as above for likelihood evidence, then P(t | e) and
    whether e itself is possible."""
    k = model.tree.cards[tv]
    post = np.zeros((len(pairs), k))
    lik = dict(lik)
    own = lik.get(tv, np.ones((1, k))).reshape(1, k)
    lik[tv] = np.vstack([own, own * np.eye(k)])
    margs, possible = model.tree.marginals(lik, k + 1)
    if not possible[0]:
        none = np.zeros(len(pairs), dtype=bool)
        return post, none, ~none, np.zeros(k), False
    p_t = np.where(possible[1:], margs[tv][0], 0.0)
    rows = np.fromiter((model.nodes.index(n) for n, _ in pairs), dtype=np.intp, count=len(pairs))
    cols = np.fromiter(
        (model.states(n).index(s) for n, s in pairs), dtype=np.intp, count=len(pairs)
    )
    p_x = np.array([margs[v][0, c] for v, c in zip(rows, cols, strict=True)])
    given_t = np.array([margs[v][1:, c] for v, c in zip(rows, cols, strict=True)])  # (pairs, k)
    sure = p_x >= 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        post[sure] = p_t[None, :] * given_t[sure] / p_x[sure, None]
    return post, sure.copy(), ~sure, p_t, True


# ---------------------------------------------------------------- 1. sensitivity


def sensitivity(
    model: Model,
    target: str | tuple[str, str],
    *,
    scenario: EvidenceLike = None,
    **evidence: Unpack[EvidenceKeywords],
) -> pd.DataFrame:
    """Tornado: the target's probability range as each other node is set to each of its states.

    One row per node not under hard evidence (and not the target); states the
    evidence rules out are skipped.  Columns: node, low, high, swing, low_state,
    high_state, baseline; sorted by swing, largest first.
    """
    node, state = parse_target(model, target)
    ev = model.evidence(scenario, **evidence)
    t = model.states(node).index(state)
    baseline = float(_base(model, ev)[model.nodes.index(node)][t])
    pairs, post, ok = _what_if(model, ev, node)
    rows = []
    for n in dict.fromkeys(p[0] for p in pairs):
        idx = [i for i, p in enumerate(pairs) if p[0] == n and ok[i]]
        if not idx:
            continue
        vals = post[idx, t]
        lo, hi = int(np.argmin(vals)), int(np.argmax(vals))
        rows.append(
            {
                "node": n,
                "low": float(vals[lo]),
                "high": float(vals[hi]),
                "swing": float(vals[hi] - vals[lo]),
                "low_state": pairs[idx[lo]][1],
                "high_state": pairs[idx[hi]][1],
                "baseline": baseline,
            }
        )
    table = _by_swing(rows, ["node", "low", "high", "swing", "low_state", "high_state", "baseline"])
    table.attrs = _attrs(
        model,
        ev,
        "sensitivity",
        (node, state),
        {"method": "set each node to each of its states on top of the evidence"},
        target_probability=baseline,
        baseline=baseline,
    )
    return table


def _by_swing(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """The rows as a table, largest swing first (ties keep their order): the tornado's order."""
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def _shift_rows(rows: np.ndarray, state: int, delta: float) -> np.ndarray:
    """Move entry `state` of every row by `delta` (clipped to [0, 1]); the rest of the row
    is rescaled proportionally, or shared equally when the entry was the whole row."""
    out = rows.copy()
    k = rows.shape[-1]
    new = np.clip(rows[..., state] + delta, 0.0, 1.0)
    rest = 1.0 - rows[..., state]
    scale = np.divide(1.0 - new, rest, out=np.zeros_like(rest), where=rest > 0)
    out *= scale[..., None]
    equal = rest <= 0
    if equal.any():
        out[equal] = ((1.0 - new[equal]) / (k - 1))[:, None]
    out[..., state] = new
    return out


def _relevant_nodes(model: Model, target: str, ev: Evidence) -> list[str]:
    """The target, the evidence nodes and their ancestors: every other CPT is barren."""
    todo = [target, *ev.nodes()]
    seen: set[str] = set()
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(model.parents(n))
    return [n for n in model.nodes if n in seen]


def _parent_label(model: Model, node: str, combo: tuple[int, ...]) -> str:
    parents = model.parents(node)
    return ", ".join(f"{p}={model.states(p)[i]}" for p, i in zip(parents, combo, strict=True))


class _TreeWithPotentials:
    """The compiled tree with per-scenario CPTs, in the shape `solve_fixed` expects."""

    def __init__(self, tree: JunctionTree, potentials: list[np.ndarray]) -> None:
        self.tree = tree
        self.cards = tree.cards
        self.potentials = potentials

    def marginals(
        self, likelihoods: dict[int, np.ndarray], batch: int = 1
    ) -> tuple[list[np.ndarray], np.ndarray]:
        return self.tree.marginals(likelihoods, batch, potentials=self.potentials)


def _solve_with_cpts(
    model: Model, ev: Evidence, cpts: list[np.ndarray], batch: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """Marginals of one evidence set under `batch` parameter sets (cpts carry a batch axis)."""
    tree = model.tree
    lik, fixed = model._arrays(ev)
    lik = {v: vec[None, :] for v, vec in lik.items()}
    fixed_b = {v: np.repeat(vec[None, :], batch, axis=0) for v, vec in fixed.items()}
    bound = _TreeWithPotentials(tree, tree.batched_potentials(cpts))
    return solve_fixed(bound, lik, fixed_b, batch, model.nodes)  # type: ignore[arg-type]


Entry = tuple[int, int, int]  # a CPT entry: (node index, row, state)


def _cpt_entries(model: Model, target: str, ev: Evidence) -> list[Entry]:
    """Every entry of the CPTs that can move the target; in a two-state row only the first
    (the second mirrors it)."""
    return [
        (model.nodes.index(n), r, s)
        for n in _relevant_nodes(model, target, ev)
        for r in range(int(np.prod(model.cpt(n).shape[:-1])))
        for s in range(len(model.states(n)) if len(model.states(n)) > 2 else 1)
    ]


def _entry_chunks(entries: list[Entry]) -> Iterator[list[Entry]]:
    """Consecutive entries of one node, at most PARAMETER_CHUNK at a time (one propagation each)."""
    i = 0
    while i < len(entries):
        chunk = [e for e in entries[i : i + PARAMETER_CHUNK] if e[0] == entries[i][0]]
        i += len(chunk)
        yield chunk


def _moved_tables(flat: np.ndarray, chunk: list[Entry], delta: float) -> np.ndarray:
    """Two copies of a node's CPT rows per entry: the entry moved down by delta, then up."""
    tables = np.repeat(flat[None], 2 * len(chunk), axis=0)
    for j, (_, r, s) in enumerate(chunk):
        tables[2 * j, r] = _shift_rows(flat[r], s, -delta)
        tables[2 * j + 1, r] = _shift_rows(flat[r], s, delta)
    return tables


def _linear_moves(
    model: Model, ev: Evidence, t_var: int, t: int, entries: list[Entry], delta: float
) -> dict[Entry, tuple[float, float]]:
    """The target after each entry moves by -delta and +delta, in closed form.

    Why: under proportional covariation P(e) and P(target, e) are linear in one CPT
    entry, with coefficients read off the family joints P(parents, child | e) with
    and without the target observed: two propagations answer every entry exactly,
    where moving the tables one by one costs a propagation per 128 entries.  One fixed
    distribution q on F is Jeffrey's rule, P(t) = sum_f q(f) P(t | e, F = f): a
    weighted sum of such ratios, two propagations per state of F.  Several fixed
    distributions are refitted jointly (not a closed form): nothing is answered here.
    Entries the formula cannot take (a zero entry, a row it fills alone, a move that
    makes the evidence nearly impossible) are left for the caller to propagate.
    """
    lik, fixed = model._arrays(ev)
    if not fixed:
        return _ratio_moves(model, lik, t_var, t, entries, delta)
    if len(fixed) > 1:
        return {}
    ((f_var, q),) = fixed.items()
    total: dict[Entry, tuple[float, float]] | None = None
    for f in np.flatnonzero(q > 0):
        hit = np.zeros(len(q))
        hit[f] = 1.0
        lik_f = dict(lik)
        lik_f[f_var] = lik_f[f_var] * hit if f_var in lik_f else hit[None, :]
        part = _ratio_moves(model, lik_f, t_var, t, entries, delta)
        w = float(q[f])
        total = (
            {e: (w * m, w * p) for e, (m, p) in part.items()}
            if total is None
            else {
                e: (m + w * part[e][0], p + w * part[e][1])
                for e, (m, p) in total.items()
                if e in part
            }
        )
    return total or {}


def _ratio_moves(
    model: Model, lik: dict[int, np.ndarray], t_var: int, t: int, entries: list[Entry], delta: float
) -> dict[Entry, tuple[float, float]]:
    """P(t | e) after each entry's move, from the family joints with and without t (see above)."""
    tree = model.tree
    joint_e, ok = tree.family_marginals(lik)
    if not ok:
        return {}
    k_t = tree.cards[t_var]
    base = float(joint_e[t_var].reshape(-1, k_t).sum(axis=0)[t])
    hit = np.zeros(k_t)
    hit[t] = 1.0
    lik_t = dict(lik)
    lik_t[t_var] = lik_t[t_var] * hit if t_var in lik_t else hit[None, :]
    if base > 0:
        joint_t, ok_t = tree.family_marginals(lik_t)
        if not ok_t:
            return {}
        joint_t = [j * base for j in joint_t]
    else:
        joint_t = [np.zeros_like(j) for j in joint_e]
    out: dict[Entry, tuple[float, float]] = {}
    by_node: dict[int, list[Entry]] = {}
    for e in entries:
        by_node.setdefault(e[0], []).append(e)
    for v, mine in by_node.items():
        k = tree.cards[v]
        theta = model.cpt(model.nodes[v]).reshape(-1, k)
        a, b = joint_e[v].reshape(-1, k), joint_t[v].reshape(-1, k)
        r = np.fromiter((e[1] for e in mine), dtype=np.intp, count=len(mine))
        st = np.fromiter((e[2] for e in mine), dtype=np.intp, count=len(mine))
        th0, rest0 = theta[r, st], 1.0 - theta[r, st]
        a_s, b_s = a[r, st], b[r, st]
        a_rest, b_rest = a[r].sum(axis=1) - a_s, b[r].sum(axis=1) - b_s
        good = (th0 > 0) & (rest0 > 0)
        moved = []
        with np.errstate(divide="ignore", invalid="ignore"):
            for step in (-delta, delta):
                new = np.clip(th0 + step, 0.0, 1.0)
                g, c = new / th0 - 1.0, (1.0 - new) / rest0 - 1.0
                pe = 1.0 + g * a_s + c * a_rest
                pte = base + g * b_s + c * b_rest
                good &= pe > 1e-9
                moved.append(np.clip(pte / pe, 0.0, 1.0))
        for j in np.flatnonzero(good):
            out[mine[j]] = (float(moved[0][j]), float(moved[1][j]))
    return out


def _screened(
    model: Model, ev: Evidence, t_var: int, t: int, entries: list[Entry], delta: float, keep: int
) -> list[Entry]:
    """The entries most likely to move the target most under fixed distributions.

    Ranked by the closed form with each fixed distribution held as the likelihood
    that meets it when the others are left out (target / posterior without fixed
    evidence): exact for one fixed node, a first-order ranking for several.  Entries
    the formula cannot rank are all kept.
    """
    free = replace(ev, fixed={})
    margs, ok = _marginals(model, [free])
    if not ok[0]:
        return entries
    weights = {n: dict(w) for n, w in free.likelihood.items()}
    for n, q in ev.fixed.items():
        p = margs[model.nodes.index(n)][0]
        states = model.states(n)
        lam = {s: float(q[s]) / p[i] if p[i] > 0 else 0.0 for i, s in enumerate(states)}
        top = max(lam.values())
        if top <= 0:
            return entries
        old = weights.get(n, dict.fromkeys(states, 1.0))
        weights[n] = {s: old[s] * lam[s] / top for s in states}
    held = replace(free, likelihood=weights)
    ranked = _linear_moves(model, held, t_var, t, entries, delta)
    order = sorted(ranked, key=lambda e: -abs(ranked[e][1] - ranked[e][0]))
    chosen = set(order[:keep]) | {e for e in entries if e not in ranked}
    return [e for e in entries if e in chosen]


def _target_under(
    model: Model, ev: Evidence, cpts: list[np.ndarray], batch: int, t_var: int, t: int
) -> tuple[np.ndarray, np.ndarray]:
    """The target's probability under each parameter set, and which sets allow the evidence.

    Why one by one on failure: fixed distributions are refused for a whole batch when
    one parameter set rules out a state they need; that set is impossible, not the rest.
    """
    try:
        margs, ok = _solve_with_cpts(model, ev, cpts, batch)
        return margs[t_var][:, t], ok
    except EvidenceError:
        if batch == 1:
            return np.zeros(1), np.zeros(1, dtype=bool)
    p, ok = np.zeros(batch), np.zeros(batch, dtype=bool)
    for b in range(batch):
        one = [c[b : b + 1] if c.shape[0] > 1 else c for c in cpts]
        p[b : b + 1], ok[b : b + 1] = _target_under(model, ev, one, 1, t_var, t)
    return p, ok


def _solved_moves(
    model: Model, ev: Evidence, t_var: int, t: int, entries: list[Entry], delta: float
) -> Iterator[tuple[int, dict[Entry, tuple[float, float] | None]]]:
    """The target after each entry moves, by propagating the moved tables (None: impossible)."""
    base_cpts = [model.cpt(n)[None] for n in model.nodes]
    for chunk in _entry_chunks(entries):
        v = chunk[0][0]
        cpt = base_cpts[v][0]
        flat = cpt.reshape(-1, cpt.shape[-1])
        tables = _moved_tables(flat, chunk, delta)
        cpts = list(base_cpts)
        cpts[v] = tables.reshape(len(tables), *cpt.shape)
        p, ok = _target_under(model, ev, cpts, len(tables), t_var, t)
        yield (
            len(chunk),
            {
                e: (float(p[2 * j]), float(p[2 * j + 1])) if ok[2 * j] and ok[2 * j + 1] else None
                for j, e in enumerate(chunk)
            },
        )


def parameter_sensitivity(
    model: Model,
    target: str | tuple[str, str],
    delta: float = 0.1,
    *,
    scenario: EvidenceLike = None,
    progress: Progress | None = None,
    top: int | None = None,
    **evidence: Unpack[EvidenceKeywords],
) -> pd.DataFrame:
    """The target's change when each CPT entry is moved by -delta and +delta.

    The entry is clipped to [0, 1] and the rest of its row rescaled proportionally.
    Only entries that matter are listed (an effect above 1e-12); in a two-state row
    only the first state's entry is listed, the second's being its mirror image.  Columns: node,
    parent_states (the row), state, value (the entry), base (the target's
    probability now), minus, plus, swing = |plus - minus|; sorted by swing.  Under an
    intervention the CPTs of the nodes set by it do not matter and are not listed.

    `top` keeps the entries with the largest swings only.  Why: with several fixed
    distributions every entry needs its own refitted propagation (minutes on a large
    model), so the entries are first ranked with the fitted distributions held as
    likelihoods (closed form) and only the `top` * 4 best, plus those the formula cannot
    rank, are computed exactly; every number listed is exact, the choice is first-order.
    """
    node, state = parse_target(model, target)
    delta = ArgumentError.check_fraction("delta", delta)
    if top is not None:
        top = ArgumentError.check_whole("top", top, 1)
    ev = model.evidence(scenario, **evidence)
    t_var, t = model.nodes.index(node), model.states(node).index(state)
    base = float(_base(model, ev)[t_var][t])
    net, ev_net = (model.intervened(ev.do), replace(ev, do={})) if ev.do else (model, ev)
    entries = [e for e in _cpt_entries(net, node, ev_net) if model.nodes[e[0]] not in ev.do]
    if top is not None and len(ev_net.fixed) > 1:
        entries = _screened(net, ev_net, t_var, t, entries, delta, 4 * top)
    moves: dict[Entry, tuple[float, float] | None] = dict(
        _linear_moves(net, ev_net, t_var, t, entries, delta)
    )
    done = len(moves)
    if progress is not None and done:
        progress(done, len(entries))
    for n_done, solved in _solved_moves(
        net, ev_net, t_var, t, [e for e in entries if e not in moves], delta
    ):
        moves.update(solved)
        done += n_done
        if progress is not None:
            progress(done, len(entries))
    rows: list[dict[str, Any]] = []
    for e in entries:
        v, r, s = e
        moved = moves[e]
        if moved is None:
            continue
        minus, plus = moved
        if max(abs(plus - base), abs(minus - base)) <= NEGLIGIBLE:
            continue
        n = model.nodes[v]
        cpt = model.cpt(n)
        rows.append(
            {
                "node": n,
                "parent_states": _parent_label(
                    model, n, tuple(int(i) for i in np.unravel_index(r, cpt.shape[:-1]))
                ),
                "state": model.states(n)[s],
                "value": float(cpt.reshape(-1, cpt.shape[-1])[r, s]),
                "base": base,
                "minus": minus,
                "plus": plus,
                "swing": abs(plus - minus),
            }
        )
    dropped = sum(1 for m in moves.values() if m is None)
    table = _by_swing(
        rows, ["node", "parent_states", "state", "value", "base", "minus", "plus", "swing"]
    )
    if top is not None:
        table = table.head(top)
    table.attrs = _attrs(
        model,
        ev,
        "parameter_sensitivity",
        (node, state),
        {
            "delta": delta,
            "renormalisation": "proportional",
            "entries_left_out_as_impossible": dropped,
        },
        target_probability=base,
        baseline=base,
        percent_columns=["value", "base", "minus", "plus"],
    )
    return table


# ---------------------------------------------------------------- 2. indicators


def indicators(
    model: Model,
    target: str,
    *,
    scenario: EvidenceLike = None,
    **evidence: Unpack[EvidenceKeywords],
) -> pd.DataFrame:
    """Indicators to watch: mutual information between the target and each unobserved node.

    Long layout, one row per (node, state of that node): node,
    mutual_information_bits (the node's value, repeated on its rows), entropy_share
    (the fraction of the target's current entropy that observing the node removes
    on average), state, state_probability (how likely that observation is now), then
    one column per target state, named ``target=state``, holding the target's
    posterior if that observation were made.  Nodes are sorted by mutual
    information, largest first; states the evidence rules out are left out.
    """
    node = _target_node(model, target)
    ev = model.evidence(scenario, **evidence)
    base = _base(model, ev)
    prior_t = base[model.nodes.index(node)]
    h_target = float(-(prior_t[prior_t > 0] * np.log2(prior_t[prior_t > 0])).sum())
    pairs, post, ok = _what_if(model, ev, node)
    t_states = model.states(node)
    t_cols = [f"{node}={s}" for s in t_states]
    groups: list[tuple[float, list[dict[str, Any]]]] = []
    for n in dict.fromkeys(p[0] for p in pairs):
        p_x = base[model.nodes.index(n)]
        mi = 0.0
        rows = []
        for i, (m, s) in enumerate(pairs):
            if m != n:
                continue
            px = float(p_x[model.states(n).index(s)])
            if px <= 0 or not ok[i]:
                continue
            cond = post[i]
            nz = cond > 0
            mi += px * float((cond[nz] * np.log2(cond[nz] / prior_t[nz])).sum())
            rows.append(
                {
                    "state": s,
                    "state_probability": px,
                    **dict(zip(t_cols, map(float, cond), strict=True)),
                }
            )
        mi = max(mi, 0.0)
        share = mi / h_target if h_target > 0 else 0.0
        groups.append(
            (
                mi,
                [
                    {"node": n, "mutual_information_bits": mi, "entropy_share": share, **r}
                    for r in rows
                ],
            )
        )
    groups.sort(key=lambda g: -g[0])  # stable: ties keep model order
    columns = [
        "node",
        "mutual_information_bits",
        "entropy_share",
        "state",
        "state_probability",
        *t_cols,
    ]
    table = pd.DataFrame([r for _, rows in groups for r in rows], columns=columns)
    table.attrs = _attrs(
        model,
        ev,
        "indicators",
        (node, ""),
        {"measure": "mutual information with the target, in bits", "target_entropy_bits": h_target},
        target_entropy_bits=h_target,
        baseline={s: float(p) for s, p in zip(t_states, prior_t, strict=True)},
        percent_columns=["entropy_share", "state_probability", *t_cols],
        decimals={"mutual_information_bits": 4},
    )
    return table


# ---------------------------------------------------------------- 3. evidence impact


def _pieces(ev: Evidence) -> list[dict[str, Any]]:
    """Every piece of evidence in force, with the evidence left when it alone is removed."""

    out: list[dict[str, Any]] = []
    for kind in ("hard", "likelihood", "fixed"):
        for n, value in getattr(ev, kind).items():
            if kind == "hard":
                title = f"{n} = {value}"
            else:
                title = f"{n} (" + ", ".join(f"{k}: {x:g}" for k, x in value.items()) + ")"
            out.append(
                {
                    "item": f"{kind}:{n}",
                    "kind": kind,
                    "node": n,
                    "date": None,
                    "title": title,
                    "evidence": ev.without_entry(kind, n),
                }
            )
    for it in ev.items:
        out.append(
            {
                "item": it.id,
                "kind": "item",
                "node": it.node,
                "date": it.date,
                "title": it.title,
                "source": it.source,
                "evidence": ev.without_item(it.id),
            }
        )
    return out


def _explained(
    model: Model,
    target: str | tuple[str, str],
    scenario: EvidenceLike,
    evidence: EvidenceKeywords,
) -> tuple[tuple[str, str], tuple[int, int], Evidence, list[dict[str, Any]]]:
    """What explain and explain_sequence start from: the target (and its node and state
    indices), the evidence in force and its pieces."""
    node, state = parse_target(model, target)
    ev = model.evidence(scenario, **evidence)
    pieces = _pieces(ev)
    return (node, state), (model.nodes.index(node), model.states(node).index(state)), ev, pieces


_PIECE_COLUMNS = ("item", "kind", "node", "date", "title")
_PRIOR_STEP: dict[str, Any] = {
    "item": "prior",
    "kind": "prior",
    "node": "",
    "date": None,
    "title": "the model without evidence",
}
"""Step 0 of the waterfall, in the shape of a piece."""


def _piece_columns(pieces: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """The columns naming each piece, shared by the explain tables."""
    return {k: [p[k] for p in pieces] for k in _PIECE_COLUMNS}


def explain(
    model: Model,
    target: str | tuple[str, str],
    scenario: EvidenceLike = None,
    **evidence: Unpack[EvidenceKeywords],
) -> pd.DataFrame:
    """Each piece of evidence's contribution: the change when it alone is removed.

    Pieces are the evidence items and each hard, likelihood and fixed entry
    (item ids ``hard:NODE`` and so on).  Columns: item, kind, node, date, title,
    delta_probability = P(target | all) - P(target | all but this),
    delta_log_odds (natural log-odds, likewise), probability_without; in the
    order the evidence lists them.
    """
    (node, state), (t_var, t), ev, pieces = _explained(model, target, scenario, evidence)
    if not pieces:
        raise EvidenceError("nothing to explain: no evidence is in force")
    margs, ok = _marginals(model, [ev] + [p["evidence"] for p in pieces])
    if not ok[0]:
        raise EvidenceError(_IMPOSSIBLE)
    p_all = float(margs[t_var][0, t])
    p_without = margs[t_var][1:, t]
    table = pd.DataFrame(
        {
            **_piece_columns(pieces),
            "delta_probability": p_all - p_without,
            "delta_log_odds": _log_odds(p_all) - _log_odds(p_without),
            "probability_without": p_without,
        }
    )
    table.attrs = _attrs(
        model,
        ev,
        "explain",
        (node, state),
        {"method": "leave one piece out", "log_odds": "natural", "log_odds_clip": LOG_ODDS_CLIP},
        target_probability=p_all,
        baseline=p_all,
        pieces=len(pieces),
        percent_columns=["probability_without"],
        decimals={"delta_log_odds": 3},
    )
    return table


def _cumulative(ev: Evidence, order: list[dict[str, Any]]) -> list[Evidence]:
    """No evidence, then the pieces of `ev` added one at a time in `order`."""
    by_id = {it.id: it for it in ev.items}
    # interventions and the forecast date hold throughout the sequence
    steps = [Evidence(name=ev.name, do=dict(ev.do), as_of=ev.as_of)]
    for p in order:
        prev = steps[-1]
        if p["kind"] == "item":
            steps.append(replace(prev, items=prev.items + (by_id[p["item"]],)))
        else:
            value = getattr(ev, p["kind"])[p["node"]]
            steps.append(prev.with_entry(p["kind"], p["node"], value))
    return steps


def explain_sequence(
    model: Model,
    target: str | tuple[str, str],
    scenario: EvidenceLike = None,
    **evidence: Unpack[EvidenceKeywords],
) -> pd.DataFrame:
    """The waterfall: the target's probability as the evidence is added piece by piece.

    Step 0 is the model without evidence; then the undated entries (hard,
    likelihood, fixed, in that order), then the evidence items by date.  Columns:
    step, item, kind, node, date, title, cumulative_probability, delta_probability
    (change from the previous step), log_odds, delta_log_odds.  The last step is
    the posterior under all the evidence.
    """
    (node, state), (t_var, t), ev, pieces = _explained(model, target, scenario, evidence)
    undated = [p for p in pieces if p["kind"] != "item"]
    dated = sorted((p for p in pieces if p["kind"] == "item"), key=lambda p: (p["date"], p["item"]))
    order = undated + dated
    steps = _cumulative(ev, order)
    margs, ok = _marginals(model, steps)
    if not ok.all():
        raise EvidenceError(_IMPOSSIBLE)
    cum = margs[t_var][:, t]
    lo = _log_odds(cum)
    table = pd.DataFrame(
        {
            "step": np.arange(len(steps)),
            **_piece_columns([_PRIOR_STEP, *order]),
            "cumulative_probability": cum,
            "delta_probability": np.concatenate([[0.0], np.diff(cum)]),
            "log_odds": lo,
            "delta_log_odds": np.concatenate([[0.0], np.diff(lo)]),
        }
    )
    table.attrs = _attrs(
        model,
        ev,
        "explain_sequence",
        (node, state),
        {
            "order": "undated entries (hard, likelihood, fixed) first, then items by date",
            "log_odds": "natural",
        },
        target_probability=float(cum[-1]),
        prior_probability=float(cum[0]),
        pieces=len(order),
        percent_columns=["cumulative_probability"],
        decimals={"log_odds": 3, "delta_log_odds": 3},
    )
    return table


# ---------------------------------------------------------------- 4. uncertainty


def _draw_cpt(
    rng: np.random.Generator, cpt: np.ndarray, confidence: float, batch: int
) -> np.ndarray:
    """`batch` draws of every row from Dirichlet(confidence * row); zero entries stay zero.

    A Gamma(a) draw with a small shape a is U**(1/a) times a Gamma(a + 1) draw: below
    a of about 0.01 it underflows to 0, and a row whose every draw underflowed used to
    keep its point value, so intervals shrank to a point exactly when confidence was
    lowest.  Rows with a shape under SMALL_SHAPE are drawn again in log space
    (log Gamma(a + 1) + log(U) / a, normalised with the largest term), which never
    underflows; other rows use numpy's draws as before (same numbers for a seed).
    """
    alpha = np.broadcast_to(confidence * cpt, (batch, *cpt.shape))
    g = rng.standard_gamma(alpha)  # shape 0 gives exactly 0
    total = g.sum(axis=-1, keepdims=True)
    out = g / np.where(total > 0, total, 1.0)
    small = ((alpha > 0) & (alpha < SMALL_SHAPE)).any(axis=-1)
    if small.any():
        a = alpha[small]  # (rows, states)
        positive = a > 0
        shape = np.where(positive, a, 1.0)
        with np.errstate(divide="ignore"):
            log_g = (
                np.log(rng.standard_gamma(shape + 1.0)) + np.log(rng.random(shape.shape)) / shape
            )
        log_g = np.where(positive, log_g, -np.inf)
        w = np.exp(log_g - log_g.max(axis=-1, keepdims=True))
        out[small] = w / w.sum(axis=-1, keepdims=True)
    return out


SMALL_SHAPE = 0.1  # Dirichlet shapes below this are drawn in log space (see _draw_cpt)


# The most Monte Carlo draws one call makes (docs/journal.md, limits): 400 propagations
# of UNCERTAINTY_CHUNK draws, so a mistyped count is refused instead of running for hours.
MAX_SAMPLES = 100_000


def _given_targets(model: Model, targets: Iterable[str] | str | None) -> list[str]:
    """The target nodes as given (one id or several), else Model.default_targets."""
    if targets is None:
        return model.default_targets
    nodes = [_target_node(model, t) for t in ([targets] if isinstance(targets, str) else targets)]
    if not nodes:
        raise EvidenceError("no target nodes given")
    return nodes


def _posterior_draws(
    model: Model,
    ev: Evidence,
    t_vars: list[int],
    samples: int,
    seed: int | None,
    progress: Progress | None,
) -> tuple[list[np.ndarray], int]:
    """Each target's posterior under `samples` Dirichlet draws of every CPT (the possible ones),
    and how many draws were possible; fixed-size batches keep results independent of memory.
    Under an intervention the draws are of the mutilated network (the set nodes stay set)."""
    rng = np.random.default_rng(seed)
    if ev.do:
        model, ev = model.intervened(ev.do), replace(ev, do={})
    cpts = [model.cpt(n) for n in model.nodes]
    default = model.spec.default_confidence
    conf = [model.node(n).confidence or default for n in model.nodes]
    draws: list[list[np.ndarray]] = [[] for _ in t_vars]
    used = 0
    for start in range(0, samples, UNCERTAINTY_CHUNK):
        batch = min(UNCERTAINTY_CHUNK, samples - start)
        drawn = [_draw_cpt(rng, c, k, batch) for c, k in zip(cpts, conf, strict=True)]
        margs, ok = _solve_with_cpts(model, ev, drawn, batch)
        for j, v in enumerate(t_vars):
            draws[j].append(margs[v][ok])
        used += int(ok.sum())
        if progress is not None:
            progress(start + batch, samples)
    return [np.concatenate(d) for d in draws], used


def uncertainty(
    model: Model,
    samples: int = 2000,
    seed: int | None = 0,
    *,
    targets: Iterable[str] | str | None = None,
    scenario: EvidenceLike = None,
    progress: Progress | None = None,
    **evidence: Unpack[EvidenceKeywords],
) -> pd.DataFrame:
    """Intervals on the posteriors from the uncertainty in the elicited numbers.

    Each CPT row is drawn from Dirichlet(confidence * row), confidence being the
    node's own (equivalent sample size) or the model's default; the posteriors are
    recomputed for every draw, in batches on one compiled tree.  Columns: node,
    state, probability (the point posterior), p05, p50, p95 (quantiles over the
    draws).  Targets default to Model.default_targets.  Draws under which the
    evidence is impossible are left out (counted in attrs).
    """
    samples = ArgumentError.check_whole("samples", samples, 2)
    seed = None if seed is None else ArgumentError.check_whole("seed", seed, 0)
    ev = model.evidence(scenario, **evidence)
    target_nodes = _given_targets(model, targets)
    if samples > MAX_SAMPLES:
        raise ArgumentError(
            "samples",
            samples,
            f"is more Monte Carlo draws than the limit of {MAX_SAMPLES:,} "
            "(a few thousand give stable 90% intervals)",
        )
    base = _base(model, ev)
    default = model.spec.default_confidence
    t_vars = [model.nodes.index(n) for n in target_nodes]
    draws, used = _posterior_draws(model, ev, t_vars, samples, seed, progress)
    if used == 0:
        raise EvidenceError("the evidence is impossible under every draw of the parameters")
    rows = []
    for n, v, values in zip(target_nodes, t_vars, draws, strict=True):
        q = np.quantile(values, [0.05, 0.5, 0.95], axis=0)
        for s, name in enumerate(model.states(n)):
            rows.append(
                {
                    "node": n,
                    "state": name,
                    "probability": float(base[v][s]),
                    "p05": float(q[0, s]),
                    "p50": float(q[1, s]),
                    "p95": float(q[2, s]),
                }
            )
    table = pd.DataFrame(rows, columns=["node", "state", "probability", "p05", "p50", "p95"])
    own = {n: model.node(n).confidence for n in model.nodes if model.node(n).confidence is not None}
    table.attrs = _attrs(
        model,
        ev,
        "uncertainty",
        (", ".join(target_nodes), ""),
        {
            "samples": samples,
            "seed": seed,
            "default_confidence": default,
            "node_confidence": own,
            "draws_used": used,
            "interval": "5%-95%",
        },
        target_nodes=list(target_nodes),
        seed=seed,
        samples=samples,
        draws_used=used,
    )
    table.attrs["target_node"] = ""  # many nodes: see target_nodes
    return table


def with_intervals(posteriors: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """A posterior table with the p05/p50/p95 columns of an `uncertainty` table added
    (matched on node and state; rows without an interval get none)."""
    cols = ["node", "state", "p05", "p50", "p95"]
    merged = posteriors.merge(intervals[cols], on=["node", "state"], how="left", sort=False)
    merged.attrs = {**posteriors.attrs, "interval_settings": intervals.attrs.get("settings", {})}
    return merged
