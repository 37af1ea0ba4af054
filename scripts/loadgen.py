"""HTTP load for the benchmarks: ``wrk`` driven by a generated Lua script, and the servers' usage.

The benchmark scripts import this module (they put ``scripts/`` on ``sys.path``). ``wrk`` is a C
load generator (Debian package ``wrk``, 4.1): it costs a fraction of the CPU a Python client
needs for the same rate, so on a small machine the server under test keeps the cores.

- :func:`run_wrk` runs ``wrk`` for a bounded duration against one URL. The Lua script it writes
  rotates over a list of :class:`Request` (method, path, headers, body: GraphQL POSTs, JSON
  login bodies, Bearer headers), or relays a value from each response into the next request
  (:class:`Relay`: a rotating refresh token, one chain per connection); a ``done()`` hook prints
  the figures as one JSON line, parsed into a :class:`LoadResult`.
- :class:`UsageSampler` samples the resident memory (``VmRSS`` summed over a process tree) while
  the load runs and after it, and the tree's CPU time.
- :func:`write_summary` writes the headline rows ``scripts/bench.py`` puts at the top of
  ``docs/benchmarks.md``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

MARKER = "NOVA_LOADGEN "
INSTALL_HINT = (
    "wrk is not installed: `make bench-deps` installs it as root on Debian/Ubuntu, "
    "otherwise `apt-get install -y wrk` (or build it from https://github.com/wg/wrk)"
)
MAX_DURATION_SECONDS = 600


class LoadgenError(RuntimeError):
    """wrk is missing, failed, or printed no figures."""


@dataclass(frozen=True)
class Request:
    method: str = "GET"
    path: str = "/"
    body: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Relay:
    """Each request carries a value taken from the previous response of its chain.

    ``template`` holds ``placeholder`` in its body; ``seeds`` start one chain each (at least one
    per connection); ``pattern`` is a Lua pattern whose first capture, applied to the body of a
    successful (< 400) response, is the next value. A failed response ends its chain; a request
    with no value left is sent with ``placeholder`` unreplaced (and counted as starved).
    """

    template: Request
    seeds: Sequence[str]
    pattern: str
    placeholder: str = "{relay}"


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    errors: int
    """Socket errors (connect, read, write, timeout), 4xx/5xx answers and failed body checks."""
    status_errors: int
    socket_errors: int
    failed_checks: int
    relay_starved: int
    connections: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def lua_string(text: str) -> str:
    """A Lua string literal for ``text`` (any byte outside printable ASCII as ``\\ddd``)."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if 32 <= byte < 127 and char not in '"\\':
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def _lua_request(request: Request) -> str:
    headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in request.headers.items())
    body = "nil" if request.body is None else lua_string(request.body)
    return f"{{{lua_string(request.method)}, {lua_string(request.path)}, {{{headers}}}, {body}}}"


_LUA_BODY = r"""
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

failed = 0
relay_starved = 0
local prepared = {}
local position = 0
local queue = {}

local function copy(headers)
  local result = {}
  for k, v in pairs(headers) do result[k] = v end
  return result
end

local function format(r, body)
  return wrk.format(r[1], r[2], copy(r[3]), body)
end

function init(args)
  local me = id or 0
  for i, r in ipairs(REQUESTS) do prepared[i] = format(r, r[4]) end
  if #prepared > 0 then position = me % #prepared end
  if RELAY then
    -- wrk calls request() once on the first thread's state to check the script: that call
    -- takes this marker instead of a seed
    if me == 0 then table.insert(queue, false) end
    for i, seed in ipairs(RELAY.seeds) do
      if (i - 1) % THREADS == me then table.insert(queue, seed) end
    end
  end
end

function request()
  if RELAY then
    local value = table.remove(queue, 1)
    if value == false then
      value = RELAY.placeholder
    elseif value == nil then
      if id ~= nil then relay_starved = relay_starved + 1 end
      value = RELAY.placeholder
    end
    return format(RELAY.template, RELAY.prefix .. value .. RELAY.suffix)
  end
  if #prepared == 0 then return format(REQUESTS[1], REQUESTS[1][4]) end
  position = position % #prepared + 1
  return prepared[position]
end

if DELAY_MS > 0 then
  if RANDOM_DELAY then
    -- pauses drawn from an exponential distribution of mean DELAY_MS: connections that all
    -- paused alike would fall into step and arrive together, a burst every DELAY_MS
    function delay() return math.floor(-math.log(1 - math.random()) * DELAY_MS + 0.5) end
  else
    function delay() return DELAY_MS end
  end
end

if RELAY or FAIL_PATTERN then
  function response(status, headers, body)
    if status >= 400 then return end
    if FAIL_PATTERN and body and string.find(body, FAIL_PATTERN) then
      failed = failed + 1
      return
    end
    if RELAY and body then
      local value = string.match(body, RELAY.pattern)
      if value then table.insert(queue, value) end
    end
  end
end

function done(summary, latency, requests)
  local failed_total, starved_total = 0, 0
  for _, t in ipairs(threads) do
    failed_total = failed_total + (t:get("failed") or 0)
    starved_total = starved_total + (t:get("relay_starved") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'NOVA_LOADGEN {"duration_us": %.0f, "requests": %.0f, "bytes": %.0f, "connect": %.0f, '
    .. '"read": %.0f, "write": %.0f, "status": %.0f, "timeout": %.0f, "failed_checks": %.0f, '
    .. '"relay_starved": %.0f, "p50_us": %.0f, "p90_us": %.0f, "p99_us": %.0f, '
    .. '"max_us": %.0f, "mean_us": %.1f}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, failed_total, starved_total, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
"""


def lua_script(
    requests: Sequence[Request] = (),
    *,
    relay: Relay | None = None,
    fail_pattern: str | None = None,
    delay_ms: int = 0,
    random_delay: bool = False,
    threads: int = 1,
) -> str:
    """The wrk script: rotate over ``requests`` (or run ``relay`` chains), report in ``done()``.
    With ``delay_ms``, each connection pauses that long between requests, or, with
    ``random_delay``, for times of that mean (exponentially distributed)."""
    if not requests and relay is None:
        raise ValueError("give requests or a relay")
    if relay is not None:
        body = relay.template.body or ""
        if relay.placeholder not in body:
            raise ValueError(f"the relay template's body must contain {relay.placeholder!r}")
        prefix, _, suffix = body.partition(relay.placeholder)
        seeds = ", ".join(lua_string(seed) for seed in relay.seeds)
        relay_table = (
            f"{{template = {_lua_request(relay.template)}, seeds = {{{seeds}}}, "
            f"pattern = {lua_string(relay.pattern)}, prefix = {lua_string(prefix)}, "
            f"suffix = {lua_string(suffix)}, placeholder = {lua_string(relay.placeholder)}}}"
        )
    else:
        relay_table = "nil"
    lines = [
        "-- generated by scripts/loadgen.py",
        f"THREADS = {threads}",
        f"DELAY_MS = {int(delay_ms)}",
        f"RANDOM_DELAY = {'true' if random_delay else 'false'}",
        f"FAIL_PATTERN = {'nil' if fail_pattern is None else lua_string(fail_pattern)}",
        "REQUESTS = {",
        *(f"  {_lua_request(request)}," for request in requests),
        "}",
        f"RELAY = {relay_table}",
    ]
    return "\n".join(lines) + _LUA_BODY


def parse_done(stdout: str, connections: int = 0) -> LoadResult:
    """The :class:`LoadResult` of the ``done()`` line in wrk's output."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            raw = json.loads(line[len(MARKER) :])
            break
    else:
        raise LoadgenError(f"wrk printed no figures:\n{stdout[-2000:]}")
    seconds = raw["duration_us"] / 1e6
    requests = int(raw["requests"])
    socket_errors = int(raw["connect"] + raw["read"] + raw["write"] + raw["timeout"])
    status_errors = int(raw["status"])
    failed_checks = int(raw["failed_checks"])

    def ms(key: str) -> float:
        return round(raw[key] / 1000, 3) if requests else math.nan

    return LoadResult(
        requests=requests,
        seconds=round(seconds, 3),
        requests_per_second=round(requests / seconds, 1) if seconds > 0 else 0.0,
        p50_ms=ms("p50_us"),
        p90_ms=ms("p90_us"),
        p99_ms=ms("p99_us"),
        max_ms=ms("max_us"),
        mean_ms=ms("mean_us"),
        errors=socket_errors + status_errors + failed_checks,
        status_errors=status_errors,
        socket_errors=socket_errors,
        failed_checks=failed_checks,
        relay_starved=int(raw["relay_starved"]),
        connections=connections,
    )


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise LoadgenError(INSTALL_HINT)
    return found


class WrkRun:
    """One running ``wrk``; :meth:`result` waits for it (bounded) and parses its figures."""

    def __init__(self, argv: list[str], script: Path, limit_seconds: float, connections: int):
        self._script = script
        self._limit = limit_seconds
        self._connections = connections
        self._process = subprocess.Popen(  # noqa: S603 - wrk with arguments built here
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def result(self) -> LoadResult:
        try:
            stdout, stderr = self._process.communicate(timeout=self._limit)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()
            raise LoadgenError(f"wrk did not finish within {self._limit:.0f}s") from None
        finally:
            self._script.unlink(missing_ok=True)
        if self._process.returncode != 0:
            raise LoadgenError(f"wrk exited with {self._process.returncode}:\n{stderr[-2000:]}")
        return parse_done(stdout, self._connections)


def start_wrk(
    url: str,
    requests: Sequence[Request] = (),
    *,
    relay: Relay | None = None,
    duration: float = 10.0,
    connections: int = 16,
    threads: int = 1,
    timeout: float = 10.0,
    fail_pattern: str | None = None,
    delay_ms: int = 0,
    random_delay: bool = False,
) -> WrkRun:
    """Start ``wrk`` against ``url`` (scheme, host and port; the paths come from ``requests``)."""
    binary = wrk_binary()
    threads = max(1, min(threads, connections))
    if relay is not None and len(relay.seeds) < connections:
        raise ValueError(f"a relay needs one seed per connection ({connections})")
    seconds = max(1, min(MAX_DURATION_SECONDS, math.ceil(duration)))
    timeout_seconds = max(1, math.ceil(timeout))
    script = lua_script(
        requests,
        relay=relay,
        fail_pattern=fail_pattern,
        delay_ms=delay_ms,
        random_delay=random_delay,
        threads=threads,
    )
    handle, name = tempfile.mkstemp(prefix="nova-wrk-", suffix=".lua")
    with os.fdopen(handle, "w") as file:
        file.write(script)
    argv = [
        binary,
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        f"--timeout={timeout_seconds}s",
        f"--script={name}",
        url,
    ]
    return WrkRun(argv, Path(name), seconds + timeout_seconds + 30, connections)


def run_wrk(
    url: str,
    requests: Sequence[Request] = (),
    *,
    relay: Relay | None = None,
    duration: float = 10.0,
    connections: int = 16,
    threads: int = 1,
    timeout: float = 10.0,
    fail_pattern: str | None = None,
    delay_ms: int = 0,
    random_delay: bool = False,
) -> LoadResult:
    """Run ``wrk`` for ``duration`` seconds (whole seconds, at most 10 minutes) and parse it."""
    return start_wrk(
        url,
        requests,
        relay=relay,
        duration=duration,
        connections=connections,
        threads=threads,
        timeout=timeout,
        fail_pattern=fail_pattern,
        delay_ms=delay_ms,
        random_delay=random_delay,
    ).result()


# --- the servers' resources ----------------------------------------------------------------------


def _process_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, user + system CPU seconds), from /proc."""
    table: dict[int, tuple[int, float]] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    return table


def process_tree(root: int, table: Mapping[int, tuple[int, float]] | None = None) -> list[int]:
    """``root`` and its descendants."""
    table = _process_table() if table is None else table
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        if pid in table:
            found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds spent by ``root`` and its living descendants."""
    table = _process_table()
    return sum(table[pid][1] for pid in process_tree(root, table))


def _tree_kib(root: int, file: str, field: str) -> int:
    """``field`` (a kB figure) of ``/proc/<pid>/<file>`` summed over ``root`` and its descendants,
    in bytes."""
    total = 0
    for pid in process_tree(root):
        try:
            for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
                if line.startswith(field):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


def tree_pss_bytes(root: int) -> int:
    """Proportional memory of ``root`` and its descendants (``Pss`` of ``smaps_rollup``
    summed): a page shared by n processes counts 1/n in each, where RSS counts the pages a
    prefork pool shares with its parent once per process."""
    return _tree_kib(root, "smaps_rollup", "Pss:")


def tree_rss_bytes(root: int) -> int:
    """Resident memory of ``root`` and its descendants (``VmRSS`` summed)."""
    return _tree_kib(root, "status", "VmRSS:")


@dataclass
class Usage:
    cpu_seconds: float = 0.0
    peak_rss_bytes: int = 0
    rss_after_bytes: int = 0

    @property
    def peak_rss_mib(self) -> float:
        return round(self.peak_rss_bytes / 2**20, 1)

    @property
    def rss_after_mib(self) -> float:
        return round(self.rss_after_bytes / 2**20, 1)

    def cpu_ms_per_request(self, requests: int) -> float:
        return round(self.cpu_seconds * 1000 / requests, 3) if requests else math.nan


class UsageSampler:
    """``with UsageSampler(pid) as usage:`` samples the tree's RSS every ``interval`` seconds.

    On exit ``usage`` holds the CPU seconds spent inside the block, the peak RSS over the
    samples (and one taken after the block) and that last sample.
    """

    def __init__(self, pid: int, interval: float = 0.1):
        self.pid = pid
        self.interval = interval
        self.usage = Usage()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._cpu_before = 0.0

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.usage.peak_rss_bytes = max(self.usage.peak_rss_bytes, tree_rss_bytes(self.pid))

    def __enter__(self) -> Usage:
        self._cpu_before = tree_cpu_seconds(self.pid)
        self.usage.peak_rss_bytes = tree_rss_bytes(self.pid)
        self._thread.start()
        return self.usage

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(5)
        self.usage.cpu_seconds = max(0.0, tree_cpu_seconds(self.pid) - self._cpu_before)
        time.sleep(self.interval)
        self.usage.rss_after_bytes = tree_rss_bytes(self.pid)
        self.usage.peak_rss_bytes = max(self.usage.peak_rss_bytes, self.usage.rss_after_bytes)


# --- the headline rows for docs/benchmarks.md ----------------------------------------------------


def headline(
    benchmark: str,
    figure: str,
    result: LoadResult | None = None,
    usage: Usage | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A summary row: the load figures of ``result``, the peak RSS of ``usage``, and ``extra``.

    The keys ``scripts/bench.py`` shows: benchmark, figure, rps, p50_ms, p99_ms, errors,
    rss_mib, note (ratios and figures of other kinds).
    """
    row: dict[str, Any] = {"benchmark": benchmark, "figure": figure}
    if result is not None:
        row |= {
            "rps": result.requests_per_second,
            "p50_ms": result.p50_ms,
            "p99_ms": result.p99_ms,
            "errors": result.errors,
        }
    if usage is not None:
        row["rss_mib"] = usage.peak_rss_mib
    return row | extra


def write_summary(
    path: str | Path | None,
    rows: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, float | None] | None = None,
) -> None:
    """Write ``rows`` and ``metrics`` as JSON to ``path`` (nothing when ``path`` is None).

    ``metrics`` are the measured figures by name (``"auth.login.cpu_ms"``): ``scripts/bench.py``
    computes its table of targets from them, so no figure in it is typed by hand.
    """
    if path is not None:
        document = {"headlines": list(rows), "metrics": dict(metrics or {})}
        Path(path).write_text(json.dumps(document, indent=1) + "\n")


def fmt(value: Any, digits: int = 1) -> str:
    """A table cell: numbers rounded, None/NaN as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
