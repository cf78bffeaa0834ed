"""Several processes recording into one journal at the same time lose nothing."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import forecast

TINY = Path(__file__).resolve().parent / "fixtures" / "tiny.yaml"
PROCESSES = 4
RECORDS = 100

WRITER = """
import sys, time
import forecast
from forecast import journal
db, who, n, start, model_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
model = forecast.load_model(model_path)
while time.time() < start:  # start together, after the imports
    time.sleep(0.005)
for i in range(n):
    if i % 10 == 9:  # some runs of two forecasts in one transaction
        journal.record_run(model, [None, {"hard": {"rain": "yes"}}], note=f"{who}-{i}", author=who, db=db)
    else:
        forecast.record(model, {"hard": {"rain": "yes"}} if i % 2 else None, note=f"{who}-{i}", author=who, db=db)
print("done", who)
"""

READER = """
import sys, time, json
import forecast
db, start, stop = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
while time.time() < start:
    time.sleep(0.005)
counts = []
while time.time() < stop:
    counts.append(int(forecast.history(db)["id"].nunique()))
    time.sleep(0.05)
print(json.dumps(counts))
"""


def test_processes_recording_at_once_all_succeed_and_every_record_is_kept(tmp_path):
    db = tmp_path / "shared" / "journal.sqlite3"  # does not exist yet: the writers race to create it
    start = time.time() + 6.0
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), f"w{k}", str(RECORDS), str(start), str(TINY)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        for k in range(PROCESSES)
    ]
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db), str(start + 0.2), str(start + 2.0)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    outputs = [w.communicate(timeout=240) for w in writers]
    for w, (out, err) in zip(writers, outputs, strict=True):
        assert w.returncode == 0, err
        assert out.startswith("done")
    r_out, r_err = reader.communicate(timeout=240)
    assert reader.returncode == 0, r_err
    seen = json.loads(r_out)
    assert seen == sorted(seen)  # a reader sees the journal grow, never shrink or break

    table = forecast.history(db)
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
            [*cli, "query", str(TINY), "--hard", "rain=yes", "--record", "--author", f"c{k}", "--db", str(db)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for k in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        assert err.startswith("recorded forecast ")
    table = forecast.history(db)
    assert sorted(table.drop_duplicates("id")["author"]) == ["c0", "c1", "c2"]
