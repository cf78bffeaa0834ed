"""Several processes recording into one journal at the same time lose nothing."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import forecast

pytestmark = pytest.mark.slow  # several processes; `pytest -m "not slow"` leaves it out

TINY = Path(__file__).resolve().parent / "fixtures" / "tiny.yaml"
PROCESSES = 4
RECORDS = 50

BARRIER = """
import os, time
def wait_for_go(path):  # start together, after the imports
    while not os.path.exists(path):
        time.sleep(0.002)
"""

WRITER = (
    BARRIER
    + """
import sys
import pytest

import forecast
from forecast import journal
db, who, n, go, model_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
model = forecast.load_model(model_path)
print("ready", flush=True)
wait_for_go(go)
for i in range(n):
    if i % 10 == 9:  # some runs of two forecasts in one transaction
        journal.record_run(model, [None, {"hard": {"rain": "yes"}}], note=f"{who}-{i}", author=who, db=db)
    else:
        forecast.record(model, {"hard": {"rain": "yes"}} if i % 2 else None, note=f"{who}-{i}", author=who, db=db)
print("done", who)
"""
)

READER = (
    BARRIER
    + """
import sys, json
import pytest

import forecast
db, go, stop = sys.argv[1], sys.argv[2], sys.argv[3]
print("ready", flush=True)
wait_for_go(go)
counts = []
while not os.path.exists(stop) or len(counts) < 3:
    counts.append(int(forecast.history(db=db)["id"].nunique()))
    time.sleep(0.02)
print(json.dumps(counts))
"""
)


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_db(request, tmp_path):
    """A journal that does not exist yet (the writers race to create it), on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "shared" / "journal.sqlite3")
    return request.getfixturevalue("pg_server").url()


def test_processes_recording_at_once_all_succeed_and_every_record_is_kept(tmp_path, shared_db):
    db = shared_db
    go, stop = tmp_path / "go", tmp_path / "stop"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), f"w{k}", str(RECORDS), str(go), str(TINY)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(PROCESSES)
    ]
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db), str(go), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for p in [*writers, reader]:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    go.touch()
    outputs = [w.communicate(timeout=240) for w in writers]
    stop.touch()
    for w, (out, err) in zip(writers, outputs, strict=True):
        assert w.returncode == 0, err
        assert out.strip().startswith("done")
    r_out, r_err = reader.communicate(timeout=240)
    assert reader.returncode == 0, r_err
    seen = json.loads(r_out)
    assert seen == sorted(seen)  # a reader sees the journal grow, never shrink or break

    table = forecast.history(db=db)
    per_forecast = table.groupby("id").size()
    runs = RECORDS // 10
    assert len(per_forecast) == PROCESSES * (RECORDS + runs)  # every forecast, runs count twice
    assert (per_forecast == 2).all()  # every forecast has both outcome states
    assert table["id"].is_unique is False and per_forecast.index.is_unique
    notes = set(table["note"])
    assert notes == {f"w{k}-{i}" for k in range(PROCESSES) for i in range(RECORDS)}
    for k in range(PROCESSES):
        assert table[table["author"] == f"w{k}"]["id"].nunique() == RECORDS + runs
    sums = table.groupby("id")["probability"].sum()
    assert ((sums - 1).abs() < 1e-9).all()


def test_cli_processes_recording_at_once(tmp_path):
    db = tmp_path / "journal.sqlite3"
    cli = [sys.executable, "-m", "forecast.cli"]
    procs = [
        subprocess.Popen(
            [
                *cli,
                "query",
                str(TINY),
                "--hard",
                "rain=yes",
                "--record",
                "--author",
                f"c{k}",
                "--db",
                str(db),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        assert err.startswith("recorded forecast ")
    table = forecast.history(db=db)
    assert sorted(table.drop_duplicates("id")["author"]) == ["c0", "c1"]
