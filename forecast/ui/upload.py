"""Uploaded model files are read, validated and compiled in a worker process with time and memory limits.

Why a process: Streamlit serves every visitor from one Python process.  A
hostile upload (a BIF file that sends a parser into backtracking, a table that
needs gigabytes) worked on in that process holds the interpreter and the
memory of everyone else's session; a thread cannot be stopped at all.  A child
process can: it gets `UPLOAD_SECONDS` to answer and an address-space limit of
`UPLOAD_MEMORY` beyond what it starts with, and it is killed when either runs
out or when the page stops waiting (a rerun, a closed tab: the `finally`
below).  At most `MAX_WORKERS` uploads are worked on at once.

Children come from a fork server that imports the package once (the first
upload after start pays about a second or more; later ones a tenth of one).

Why not a shared cache: ``st.cache_resource`` keeps results for every session
alike, so one visitor's uploads would stay in the server's memory for all.
`session_model` keeps only the latest upload of the session that made it.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import resource
import threading
from multiprocessing.connection import Connection
from typing import Any

from ..errors import ForecastError, MemoryBudgetError, ModelError
from ..memory import resolve_budget
from ..model import Model, model_from_bytes
from ..safeio import MAX_UPLOAD_BYTES, check_size, format_size

UPLOAD_SECONDS = float(os.environ.get("FORECAST_UPLOAD_SECONDS", "") or 20.0)
UPLOAD_MEMORY = 1 << 30  # address space a worker may add to what it starts with
MAX_WORKERS = 2
START_SECONDS = 120.0  # the first upload starts the fork server, which imports the package
SESSION_KEY = "_forecast_upload"

_slots = threading.BoundedSemaphore(MAX_WORKERS)
_context_lock = threading.Lock()
_context: Any = None


READER_MODULES = ("bif", "build", "genie", "hugin", "netica", "rds", "uai", "view", "xmlbif")


def _mp_context() -> Any:
    """A fork-server context with the package preloaded (spawn where there is no fork server)."""
    global _context
    with _context_lock:
        if _context is None:
            if "forkserver" in mp.get_all_start_methods():
                server = mp.get_context("forkserver")
                # everything a worker may import, imported before the fork: an import under
                # the worker's address-space cap can fail (scipy for ranked nodes, rdata, the
                # XML and R readers are otherwise imported on first use)
                server.set_forkserver_preload(
                    [
                        "forecast.model",
                        "forecast.formats",
                        *(f"forecast.formats.{m}" for m in READER_MODULES),
                        "scipy.special",
                        "rdata",
                        "forecast.ui.upload",
                    ]
                )
                _context = server
            else:  # pragma: no cover - Windows, macOS without a fork server
                _context = mp.get_context("spawn")
        return _context


def _address_space() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):  # pragma: no cover - no /proc
        pass
    return 0


def _work(conn: Connection, data: bytes, name: str, memory: int) -> None:
    """In the child: the Model, or the error, sent back through `conn`."""
    try:
        base = _address_space()
        if base and memory > 0:
            cap = base + memory
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        conn.send(("started",))  # the clock starts now, not while the fork server warms up
        # tables are checked against half the worker's room before they are built, so a
        # table that would not fit is a clear message rather than a MemoryError midway
        budget = min(resolve_budget(None), memory // 2) if memory > 0 else None
        # any format, by the name's suffix; binary ones (.rds) and Latin-1 GeNIe files included
        model = model_from_bytes(data, name, memory_budget=budget)
        model.tree  # noqa: B018 - compiled here, inside the worker's limits (load_model defers it)
        conn.send(("ok", model))
    except ForecastError as exc:
        conn.send(("error", type(exc).__name__, str(exc), list(exc.problems)))
    except MemoryError:
        conn.send(("memory", "", "", []))
    except BaseException as exc:  # a bug: report it as one, the page stays up
        conn.send(("bug", type(exc).__name__, str(exc)[:500], []))
    finally:
        conn.close()


def _too_much_memory(name: str, memory: int) -> MemoryBudgetError:
    return MemoryBudgetError(
        f"{name}: reading this model needs more than the {format_size(memory)} an upload may use; "
        "simplify the model or open it from the command line"
    )


def load_upload(
    data: bytes, name: str, seconds: float | None = None, memory: int = UPLOAD_MEMORY
) -> Model:
    """The compiled Model of an uploaded file, worked out in a child process within the limits.

    Raises ModelError (or the ForecastError the reader raised) with a one-line
    message; the child is killed on time-out and whenever this call is left early.
    """
    seconds = UPLOAD_SECONDS if seconds is None else seconds
    check_size(data, name, "model", ModelError, MAX_UPLOAD_BYTES)
    if not _slots.acquire(timeout=seconds):
        raise ModelError(f"{name}: the server is busy reading other uploads; try again shortly")
    proc = None
    receiver = None
    try:
        ctx = _mp_context()
        receiver, sender = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_work, args=(sender, bytes(data), name, memory), daemon=True)
        proc.start()
        sender.close()
        if not receiver.poll(START_SECONDS):
            raise ModelError(f"{name}: the upload worker did not start; try again shortly")
        try:
            receiver.recv()  # ("started",)
        except (EOFError, OSError):
            raise _too_much_memory(name, memory) from None
        if not receiver.poll(seconds):
            raise ModelError(
                f"{name}: reading this model took longer than {seconds:g} s, the limit for uploads; "
                "open it from the command line, or simplify it"
            )
        try:
            outcome = receiver.recv()
        except (EOFError, OSError):  # the child died: killed for memory, or crashed
            raise _too_much_memory(name, memory) from None
    finally:
        if proc is not None:
            if proc.is_alive():
                proc.kill()
            proc.join(5)
            proc.close()
        if receiver is not None:
            receiver.close()
        _slots.release()
    kind = outcome[0]
    if kind == "ok":
        model: Model = outcome[1]
        return model
    if kind == "memory":
        raise _too_much_memory(name, memory)
    if kind == "error":
        _, cls_name, message, problems = outcome
        cls = {c.__name__: c for c in (MemoryBudgetError, ModelError)}.get(cls_name, ModelError)
        raise cls(message, problems)
    raise ModelError(f"{name}: the model could not be read ({outcome[1]}: {outcome[2]})")


def session_model(state: Any, data: bytes, name: str, seconds: float | None = None) -> Model:
    """The upload's Model, remembered in `state` (st.session_state) for this session only.

    Only the latest upload is kept; earlier ones are dropped.
    """
    digest = hashlib.sha256(bytes(data)).hexdigest() + ":" + name
    kept = state.get(SESSION_KEY)
    if isinstance(kept, tuple) and kept[0] == digest:
        if isinstance(kept[1], Model):
            return kept[1]
        raise ModelError(*kept[1])  # the same bad file again: the same answer, no new worker
    state.pop(SESSION_KEY, None)  # let the previous upload's model go before reading the next
    try:
        model = load_upload(data, name, seconds)
    except ForecastError as exc:
        if "busy" not in str(exc):
            state[SESSION_KEY] = (digest, (str(exc), list(exc.problems)))
        raise
    state[SESSION_KEY] = (digest, model)
    return model
