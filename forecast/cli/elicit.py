"""Elicitation and ensemble sub-commands: `forecast elicit ...` and `forecast ensemble`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .. import elicitation as el
from ..ensemble import ensemble
from ..errors import ForecastError
from ..model import load_model
from ..yamlio import atomic_write_text, load_yaml
from .common import add_command, add_evidence_args, add_output_args, emit, evidence_from_args
from .journal import add_db_arg


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "elicit", help="team elicitation in Delphi rounds (open, answer, feedback, pool)"
    )
    steps = p.add_subparsers(dest="step", metavar="STEP")
    steps.required = True

    s = add_command(steps, cmd_open, "open round 1 of an elicitation on a model")
    s.add_argument("model", metavar="MODEL")
    s.add_argument(
        "--participant", action="append", required=True, metavar="NAME", help="repeat per analyst"
    )
    s.add_argument(
        "--quantity",
        action="append",
        metavar="ID",
        help="'node', 'node|parent=state,...' or 'node:weights' (default: the most sensitive)",
    )
    s.add_argument("--facilitator", metavar="NAME", help="default: $FORECAST_AUTHOR or login")
    add_db_arg(s)

    s = add_command(steps, cmd_sheet, "a participant's answer sheet for the open round (YAML)")
    s.add_argument("id", metavar="ELICITATION")
    s.add_argument("--participant", required=True, metavar="NAME")
    s.add_argument("--output", "-o", metavar="FILE", help="write the sheet to FILE")
    add_db_arg(s)

    s = add_command(steps, cmd_answer, "give or revise your answers from a sheet file")
    s.add_argument("id", metavar="ELICITATION")
    s.add_argument("--participant", required=True, metavar="NAME")
    s.add_argument("--answers", required=True, metavar="FILE", help="a sheet (see `elicit sheet`)")
    add_db_arg(s)

    s = add_command(steps, cmd_status, "who has answered how much in the open round")
    s.add_argument("id", metavar="ELICITATION")
    add_output_args(s)
    add_db_arg(s)

    s = add_command(steps, cmd_close_round, "freeze the round and open the next")
    s.add_argument("id", metavar="ELICITATION")
    s.add_argument("--by", metavar="NAME", help="the facilitator (default: $FORECAST_AUTHOR)")
    s.add_argument("--finish", action="store_true", help="close the elicitation after this round")
    add_db_arg(s)

    s = add_command(steps, cmd_feedback, "the group's median and spread in a closed round")
    s.add_argument("id", metavar="ELICITATION")
    s.add_argument("--participant", metavar="NAME", help="show where this answer stands")
    s.add_argument("--round", type=int, metavar="N", help="default: the last closed round")
    add_output_args(s)
    add_db_arg(s)

    s = add_command(steps, cmd_pool, "pool the answers; --output FILE.yaml writes a new model")
    s.add_argument("model", metavar="MODEL")
    s.add_argument("id", metavar="ELICITATION")
    s.add_argument("--method", choices=("linear", "log"), default="linear")
    s.add_argument("--round", type=int, metavar="N")
    s.add_argument("--format", choices=("table", "csv", "json", "md"))
    s.add_argument(
        "--output", "-o", metavar="FILE", help=".yaml: the pooled model; else the pooled table"
    )
    add_db_arg(s)

    s = add_command(
        steps, cmd_disagreement, "where the team's disagreement changes the forecast, ranked"
    )
    s.add_argument("model", metavar="MODEL")
    s.add_argument("id", metavar="ELICITATION")
    s.add_argument("--target", metavar="NODE", help="default: the first outcome")
    s.add_argument("--method", choices=("linear", "log"), default="linear")
    add_output_args(s)
    add_db_arg(s)

    p = add_command(sub, cmd_ensemble, "several models of one question: pooled posterior, spread")
    p.add_argument("models", metavar="MODEL", nargs="+")
    p.add_argument(
        "--weight", type=float, action="append", metavar="W", help="one per model (default equal)"
    )
    p.add_argument("--target", action="append", metavar="NODE", help="default: common outcomes")
    add_evidence_args(p)
    add_output_args(p)


def cmd_open(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    elic = el.open_elicitation(
        model, args.participant, quantities=args.quantity, facilitator=args.facilitator, db=args.db
    )
    sys.stdout.write(f"opened elicitation {elic.id} on model '{model.id}', round 1\n")
    for q in elic.quantities:
        sys.stdout.write(f"  {q.id}\n")
    return 0


def cmd_sheet(args: argparse.Namespace) -> int:
    table = el.my_answers(args.id, args.participant, db=args.db)
    elic = el.get(args.id, db=args.db)
    lines = [
        f"# Answer sheet: elicitation {elic.id}, round {elic.round}, participant {args.participant}",
        "# Give each row's numbers (probabilities summing to 1, or percentages) and a reason,",
        f"# then: forecast elicit answer {elic.id} --participant NAME --answers THIS_FILE",
    ]
    for qid, rows in table.groupby("quantity", sort=False):
        lines.append(f"{_yaml_key(str(qid))}:")
        values = ", ".join(
            f"{_yaml_key(str(e))}: {float(v):.6g}"
            for e, v in zip(rows["entry"], rows["value"], strict=True)
        )
        lines.append(f"  values: {{{values}}}")
        reason = str(rows["reason"].iloc[0]).replace('"', "'")
        lines.append(f'  reason: "{reason}"')
    text = "\n".join(lines) + "\n"
    if args.output:
        atomic_write_text(args.output, text)
        sys.stderr.write(f"wrote {args.output}\n")
    else:
        sys.stdout.write(text)
    return 0


def _yaml_key(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cmd_answer(args: argparse.Namespace) -> int:
    data = load_yaml(Path(args.answers), "answer sheet", el.ElicitationError)
    if not isinstance(data, dict) or not data:
        raise el.ElicitationError(f"{args.answers}: an answer sheet maps quantities to values")
    answers: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    for qid, entry in data.items():
        if not isinstance(entry, dict) or "values" not in entry:
            raise el.ElicitationError(f"{args.answers}: '{qid}' needs 'values' (and a 'reason')")
        unknown = set(entry) - {"values", "reason"}
        if unknown:
            raise el.ElicitationError(
                f"{args.answers}: '{qid}' has unknown key(s) {sorted(unknown)}"
            )
        answers[str(qid)] = entry["values"]
        if entry.get("reason"):
            reasons[str(qid)] = str(entry["reason"])
    round_no = el.answer(args.id, args.participant, answers, reasons=reasons, db=args.db)
    sys.stdout.write(
        f"saved {len(answers)} answer(s) of {args.participant} in round {round_no} of {args.id}\n"
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    return emit(el.progress(args.id, db=args.db), args)


def cmd_close_round(args: argparse.Namespace) -> int:
    elic = el.close_round(args.id, by=args.by, finish=args.finish, db=args.db)
    if elic.status == "closed":
        sys.stdout.write(f"closed elicitation {elic.id} after round {elic.round}\n")
    else:
        sys.stdout.write(
            f"closed round {elic.round - 1} of {elic.id}; round {elic.round} is open\n"
        )
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    table = el.feedback(args.id, args.participant, round=args.round, db=args.db)
    code = emit(table, args)
    if not args.output and (args.format in (None, "table")):
        for qid, reasons in table.attrs["reasons"].items():
            for reason in reasons:
                sys.stdout.write(f"  {qid}: {reason}\n")
    return code


def cmd_pool(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    if args.output and Path(args.output).suffix.lower() in (".yaml", ".yml"):
        path = el.write_pooled_model(
            model, args.id, args.output, args.method, round=args.round, db=args.db
        )
        sys.stderr.write(f"wrote the pooled model to {path}\n")
        return 0
    return emit(el.pool(args.id, args.method, round=args.round, db=args.db), args)


def cmd_disagreement(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    table = el.disagreement(model, args.id, target=args.target, method=args.method, db=args.db)
    return emit(table, args)


def cmd_ensemble(args: argparse.Namespace) -> int:
    models = [load_model(m) for m in args.models]
    ens = ensemble(models, args.weight)
    evidence = evidence_from_args(models[0], args)
    table = ens.posteriors(evidence, targets=args.target)
    if table.empty:  # pragma: no cover - targets are checked before
        raise ForecastError("nothing to show")
    return emit(table, args)
