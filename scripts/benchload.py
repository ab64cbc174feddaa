"""The scan benchmark's load: wrk (in C, Debian's package) driven by a Lua script that sends
no-op, smallest-write, scan and bare-scan requests, closed loop or paced; and the helpers
that go with it (ports, the workers' memory)."""

from __future__ import annotations

import json
import random
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def workers_rss_mib(master: int) -> float:
    """Resident memory of the gunicorn workers together (Linux /proc), in MiB."""
    total = 0
    for child in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        for line in Path(f"/proc/{child}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WRK_THREADS = 2
WRK = shutil.which("wrk") or "/usr/bin/wrk"  # make bench installs it (Debian's package)
WRK_SCRIPT = r"""
local kind, token, gate, nonce = "%(kind)s", "%(token)s", %(gate)d, %(nonce)d
local officer, nthreads = %(officer)d, %(threads)d
local codes, threads, counter = {}, {}, 0
errors = 0  -- globals: read by done() through thread:get, and tid set by setup()

setup = function(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

init = function(args)
  for line in io.lines("%(codes)s") do table.insert(codes, line) end
  tid = tonumber(tid) or 0
end

request = function()
  counter = counter + 1
  if kind == "noop" then
    return wrk.format("GET", "/api/v1/health")
  end
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
  if kind == "write" then
    return wrk.format("POST", "/api/v1/notifications/read", headers, '{"ids": []}')
  end
  -- a UUID no other request of the run uses: the run, the thread, the request
  local id = string.format("%%08x-%%04x-4000-8000-%%012x", nonce, tid, counter)
  -- (each thread's Lua state is its own: `threads` is filled in the main state only)
  local code = codes[((counter * nthreads + tid) %% #codes) + 1]
  if kind == "bare" then
    local body = string.format(
      '{"scan_id":"%%s","pass_id":%%s,"checkpoint_id":%%d,"officer_id":%%d}',
      id, code, gate, officer)
    return wrk.format("POST", "/bare/scans", {["Content-Type"] = "application/json"}, body)
  end
  local body = string.format('{"scan_id":"%%s","checkpoint_id":%%d,"code":"%%s"}', id, gate, code)
  return wrk.format("POST", "/api/v1/scans", headers, body)
end

response = function(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end

%(delay_function)s

done = function(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("errors") end
  local e = summary.errors
  io.write(string.format(
    'WRK {"n": %%d, "us": %%d, "p50": %%d, "p99": %%d, "bad": %%d, "socket": %%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    bad, e.connect + e.read + e.write + e.timeout))
end
"""


class Load:
    """wrk, a load generator in C in its own process (two threads), so the clients take as
    little as possible of the two cores the server runs on. Closed loop (as fast as the
    server answers), or paced: each connection waits between requests for a total rate."""

    def __init__(self, port: int, token: str, gate: int, codes: list[str], reviewer: str):
        self.port, self.token, self.gate, self.reviewer = port, token, gate, reviewer
        self.codes = Path(tempfile.mkdtemp()) / "codes.txt"
        self.codes.write_text("\n".join(codes) + "\n")
        self.scans = self.scan_runs = 0  # acknowledged (HTTP 200) scans, all runs
        self.bare: tuple[int, int, Path] | None = None  # bare_scan.py: port, officer, ids
        self.against: int | None = None  # the same app from another tree (--against)

    def serve_bare(self, port: int, officer: int, pass_ids: list[int]) -> None:
        ids = Path(tempfile.mkdtemp()) / "ids.txt"
        ids.write_text("\n".join(map(str, pass_ids)) + "\n")
        self.bare = (port, officer, ids)

    def run(self, kind: str, clients: int, seconds: float, rate: float | None = None) -> dict:
        delay = int(1000 * clients / rate) if rate else 0
        port, officer, codes = self.bare if kind == "bare" else (self.port, 0, self.codes)
        if kind == "against":  # the scan request, sent to the other tree's server
            port, kind = self.against, "scan"
        script = Path(tempfile.mkdtemp()) / f"{kind}.lua"
        script.write_text(
            WRK_SCRIPT
            % {
                "kind": kind,
                "token": self.reviewer if kind == "write" else self.token,
                "gate": self.gate,
                "officer": officer,
                "threads": WRK_THREADS,
                "nonce": random.getrandbits(32),
                "codes": codes,
                "delay_function": f"delay = function() return {delay} end" if delay else "",
            }
        )
        out = subprocess.run(
            [
                WRK,
                "--threads",
                str(WRK_THREADS),
                "--connections",
                str(clients),
                "--duration",
                f"{seconds:g}s",
                "--timeout",
                "30s",
                "--script",
                str(script),
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        line = next((x for x in out.stdout.splitlines() if x.startswith("WRK ")), None)
        if out.returncode or line is None:
            raise SystemExit(f"wrk failed: {out.stdout}{out.stderr}")
        r = json.loads(line[4:])
        result = {
            "rps": r["n"] / (r["us"] / 1e6),
            "p50": r["p50"] / 1000,
            "p99": r["p99"] / 1000,
            "n": r["n"] - r["bad"],
            "errors": r["bad"] + r["socket"],
        }
        if kind in ("scan", "bare"):  # (an "against" run is a scan here)
            self.scans += r["n"] - r["bad"]
            self.scan_runs += 1
        return result
