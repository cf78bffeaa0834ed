"""The app's Team tab: a participant's answer sheet and the facilitator's round controls.

A thin Streamlit shell over forecast.elicitation (the CLI and the API use the same
functions).  The participant's name is asked as in the History tab; real access
control needs the reverse proxy described in the README.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .. import elicitation as el
from .. import journal
from ..errors import ForecastError
from ..evidence import Evidence, Scenario
from ..model import Model
from ..plaintext import md_frame, md_inline

NAME_KEY = "team_name"
CHOICE_KEY = "team_elicitation"
POOLING = {
    "linear": "Linear (the mean of the answers)",
    "log": "Logarithmic (normalised geometric mean)",
}
FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,80}$")


def render(
    model: Model,
    evidence: Evidence | Scenario | Mapping[str, Any] | None = None,
    db: str | os.PathLike[str] | None = None,
) -> None:
    import streamlit as st

    st.caption(
        "Several analysts estimate the model's most influential numbers in rounds: answers stay "
        "hidden until the facilitator closes a round, then everyone sees the group's median, "
        "spread and reasons (without names) and may revise. See docs/elicitation.md."
    )
    name = st.text_input(
        "Your name", value=journal.default_author(), key=NAME_KEY, max_chars=el.MAX_NAME
    ).strip()
    try:
        mine = [e for e in el.list_elicitations(db=db) if e.model_id == model.id]
    except ForecastError as exc:
        st.error(md_inline(exc))
        return
    with st.expander("Open a new elicitation (facilitator)", expanded=not mine):
        _open_panel(st, model, name, db)
    if not mine:
        st.info("No elicitation has been opened on this model yet.")
        return
    labels = {
        e.id: f"{e.id}: round {e.round} ({e.status}), {len(e.participants)} participants"
        for e in mine
    }
    chosen = st.selectbox(
        "Elicitation",
        list(labels),
        index=len(labels) - 1,
        format_func=labels.__getitem__,
        key=CHOICE_KEY,
    )
    elic = next(e for e in mine if e.id == chosen)
    if name in elic.participants:
        _participant_panel(st, model, elic, name, db)
    if name == elic.facilitator:
        _facilitator_panel(st, model, elic, db)
    if name not in elic.participants and name != elic.facilitator:
        st.info(
            f"'{name or '(no name)'}' is not a participant of this elicitation; participants are "
            + ", ".join(elic.participants)
            + f"; the facilitator is {elic.facilitator}."
        )


def _open_panel(st: Any, model: Model, name: str, db: str | os.PathLike[str] | None) -> None:
    try:
        suggested = [q.id for q in el.suggested_quantities(model)]
    except ForecastError:
        suggested = []
    every = [q.id for n in model.nodes for q in el.quantities_of(model, n)]
    people = st.text_area("Participants (one name per line)", key="team_new_people")
    chosen = st.multiselect(
        "Quantities to ask (the ones the outcome is most sensitive to are preselected)",
        every,
        default=[q for q in suggested if q in every],
        key="team_new_quantities",
    )
    if st.button("Open round 1", key="team_open", disabled=not name):
        try:
            elic = el.open_elicitation(
                model,
                [p.strip() for p in people.splitlines() if p.strip()],
                quantities=chosen,
                facilitator=name,
                db=db,
            )
        except ForecastError as exc:
            st.error(md_inline(exc))
            return
        st.session_state[CHOICE_KEY] = elic.id
        st.success(f"Opened elicitation {elic.id}; you are its facilitator.")
        st.rerun()


def _participant_panel(
    st: Any, model: Model, elic: el.Elicitation, name: str, db: str | os.PathLike[str] | None
) -> None:
    st.subheader(f"Your answers, round {elic.round}")
    if elic.round > 1 or elic.status == "closed":
        _feedback(st, model, elic, name, db)
    if elic.status != "open":
        st.info("This elicitation is closed; answers are frozen.")
        return
    sheet = el.my_answers(elic.id, name, db=db)
    answers: dict[str, list[float]] = {}
    reasons: dict[str, str] = {}
    with st.form(f"team_sheet_{elic.id}_{elic.round}"):
        for q in elic.quantities:
            rows = sheet[sheet["quantity"] == q.id]
            st.markdown(f"**{md_inline(_title(model, q))}**")
            percent = q.kind == "row"
            frame = pd.DataFrame(
                {
                    "Entry": [_entry_label(model, q, e) for e in rows["entry"]],
                    ("Percent" if percent else "Weight"): [
                        round(100 * v, 2) if percent else v for v in rows["value"]
                    ],
                }
            )
            edited = st.data_editor(
                frame,
                key=f"team_grid_{elic.id}_{elic.round}_{q.id}",
                hide_index=True,
                disabled=["Entry"],
                width="stretch",
            )
            values = [float(v) for v in edited[edited.columns[1]]]
            if percent:
                total = sum(values)
                # the grid shows two decimals: absorb that rounding, refuse anything more
                if total > 0 and abs(total - 100) <= 0.05:
                    values = [100 * v / total for v in values]
                values = [v / 100 for v in values]
            answers[q.id] = values
            reasons[q.id] = st.text_input(
                "Reason (one line)",
                value=str(rows["reason"].iloc[0]),
                key=f"team_reason_{elic.id}_{elic.round}_{q.id}",
                max_chars=el.MAX_REASON,
            )
        saved = st.form_submit_button("Save my answers")
    if saved:
        try:
            el.answer(elic.id, name, answers, reasons=reasons, db=db)
        except ForecastError as exc:
            st.error(md_inline(exc))
        else:
            st.success(f"Saved your answers for round {elic.round}.")


def _feedback(
    st: Any, model: Model, elic: el.Elicitation, name: str, db: str | os.PathLike[str] | None
) -> None:
    try:
        fb = el.feedback(elic.id, name, db=db)
    except ForecastError as exc:
        st.info(md_inline(exc))
        return
    st.markdown(f"**The group in round {fb.attrs['round']}** (names are not shown)")
    view = pd.DataFrame(
        {
            "Quantity": [_title(model, el.find_quantity(model, q)) for q in fb["quantity"]],
            "Entry": [
                _entry_label(model, el.find_quantity(model, q), e)
                for q, e in zip(fb["quantity"], fb["entry"], strict=True)
            ],
            "Median": fb["median"],
            "Middle half": [f"{a:.2f}–{b:.2f}" for a, b in zip(fb["q25"], fb["q75"], strict=True)],
            "Range": [f"{a:.2f}–{b:.2f}" for a, b in zip(fb["min"], fb["max"], strict=True)],
            "Yours": fb["mine"],
            "Where you stand": fb["position"],
        }
    )
    st.table(md_frame(view.set_index("Quantity")))  # small, and read as text (not a canvas grid)
    reasons = fb.attrs["reasons"]
    for qid, texts in reasons.items():
        if texts:
            with st.expander(f"Reasons given for {_title(model, el.find_quantity(model, qid))}"):
                for t in texts:
                    st.text(t)


def _facilitator_panel(
    st: Any, model: Model, elic: el.Elicitation, db: str | os.PathLike[str] | None
) -> None:
    st.subheader("Facilitator")
    if elic.status == "open":
        st.dataframe(el.progress(elic.id, db=db), hide_index=True)
        left, right = st.columns(2)
        if left.button(f"Close round {elic.round}, open the next", key="team_next"):
            _act(st, lambda: el.close_round(elic.id, by=elic.facilitator, db=db))
        if right.button("Close the elicitation after this round", key="team_finish"):
            _act(st, lambda: el.close(elic.id, by=elic.facilitator, db=db))
    if elic.round == 1 and elic.status == "open":
        return
    method = st.radio(
        "Pooling",
        list(POOLING),
        format_func=POOLING.__getitem__,
        horizontal=True,
        key="team_method",
    )
    try:
        st.markdown("**Where the team's disagreement changes the forecast**")
        dis = el.disagreement(model, elic.id, method=method, db=db)
        st.dataframe(
            pd.DataFrame(
                {
                    "Quantity": [
                        _title(model, el.find_quantity(model, q)) for q in dis["quantity"]
                    ],
                    "Spread of answers (points)": dis["spread"].round(1),
                    "Outcome moves (points)": dis["swing"].round(1),
                    "Outcome state": dis["state"],
                }
            ),
            hide_index=True,
            width="stretch",
        )
        st.markdown("**Pooled numbers**")
        st.dataframe(el.pool(elic.id, method, db=db), hide_index=True, width="stretch")
    except ForecastError as exc:
        st.error(md_inline(exc))
        return
    folder = Path(model.path).parent if model.path else Path("models")
    fname = st.text_input(
        "Write the pooled model as", value=f"{model.id}_pooled.yaml", key="team_file"
    )
    if st.button("Write the pooled model", key="team_write"):
        if not FILE_NAME.match(fname) or not fname.endswith((".yaml", ".yml")):
            st.error("Give a plain file name ending in .yaml (letters, digits, _ . -).")
            return
        target = folder / fname
        if target.exists():
            st.error(f"{md_inline(fname)} already exists; choose another name.")
            return
        _act(st, lambda: el.write_pooled_model(model, elic.id, target, method, db=db))


def _act(st: Any, step: Any) -> None:
    try:
        result = step()
    except ForecastError as exc:
        st.error(md_inline(exc))
        return
    st.success(f"Done: {md_inline(result) if isinstance(result, Path) else 'saved'}.")
    st.rerun()


def _title(model: Model, q: el.Quantity) -> str:
    label = model.label(q.node)
    if q.kind == "weights":
        return f"{label}: weights of its parents"
    if not q.when:
        return label
    given = ", ".join(f"{model.label(p)} = {model.state_label(p, s)}" for p, s in q.when)
    return f"{label}, when {given}"


def _entry_label(model: Model, q: el.Quantity, entry: str) -> str:
    return model.label(entry) if q.kind == "weights" else model.state_label(q.node, entry)
