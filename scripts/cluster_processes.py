"""The cluster rehearsal's processes (scripts/cluster_run.py): each started in its own
process group and logged into the run folder, nginx's configuration, readiness probes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
FLASK = [str(ROOT / ".venv/bin/flask"), "--app", "app"]
GUNICORN = str(ROOT / ".venv/bin/gunicorn")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_CONF = """daemon off;
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format upstream '$msec|$request_method|$uri|$status|$upstream_addr|$upstream_status';
    access_log {run}/nginx-access.log upstream;
    client_body_temp_path {run}/nginx-tmp/body;
    proxy_temp_path {run}/nginx-tmp/proxy;
    fastcgi_temp_path {run}/nginx-tmp/fastcgi;
    uwsgi_temp_path {run}/nginx-tmp/uwsgi;
    scgi_temp_path {run}/nginx-tmp/scgi;
    upstream app {{
        server 127.0.0.1:{a} max_fails=1 fail_timeout=5s;
        server 127.0.0.1:{b} max_fails=1 fail_timeout=5s;
    }}
    server {{
        listen 127.0.0.1:{lb};
        location / {{
            proxy_pass http://app;
            proxy_set_header Host $http_host;
            # Replaced, not appended to: the app trusts one hop (PROXY_HOPS=1).
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 1s;
            proxy_read_timeout 30s;
            # A node that refuses the connection or answers 502-504 is skipped. A POST it
            # already received is not replayed by the balancer (it may have been recorded):
            # the client sends it again, and scans are idempotent by scan_id.
            proxy_next_upstream error timeout invalid_header http_502 http_503 http_504;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Every process of the cluster, each in its own process group (a gunicorn master dies
    with its workers, the timer loop with its run), logged into the run folder. The group
    ids also go to `pids`, for scripts/cluster.sh to kill should this process die first."""

    def __init__(self, run: Path, env: dict[str, str], pids: Path | None):
        self.run, self.env, self.pids = run, env, pids
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], **env: str) -> subprocess.Popen:
        log = (self.run / f"{name}.log").open("w")
        process = subprocess.Popen(  # noqa: S603
            argv,
            cwd=ROOT,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started[name] = process
        if self.pids:
            with self.pids.open("a") as f:
                f.write(f"group {process.pid}\n")
        return process

    def flask(self, *args: str) -> str:
        """One command of the app's CLI, to its end; exits loudly if it fails."""
        out = subprocess.run(  # noqa: S603
            [*FLASK, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if out.returncode:
            raise SystemExit(f"flask {' '.join(args[:2])} failed:\n{out.stdout}{out.stderr}")
        return out.stdout.strip()

    def nginx(self, ports: dict[str, int]) -> None:
        """The balancer in the foreground (so it is one of ours), pid and logs in the run
        folder; its configuration is checked first."""
        conf = self.run / "nginx.conf"
        conf.write_text(NGINX_CONF.format(run=self.run, a=ports["A"], b=ports["B"], lb=ports["lb"]))
        (self.run / "nginx-tmp").mkdir(exist_ok=True)
        argv = [
            NGINX,
            "-p",
            str(self.run),
            "-c",
            str(conf),
            "-e",
            str(self.run / "nginx-error.log"),
        ]
        test = subprocess.run([*argv, "-t"], capture_output=True, text=True, check=False)  # noqa: S603
        if test.returncode:
            raise SystemExit(f"nginx refused its configuration: {test.stderr}")
        self.start("nginx", argv)

    def group(self, name: str) -> list[int]:
        """The pids in a process's group (a gunicorn master and its workers)."""
        pgid, found = self.started[name].pid, []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(ProcessLookupError):
                    if os.getpgid(int(entry.name)) == pgid:
                        found.append(int(entry.name))
        return sorted(found)

    def kill(self, name: str) -> list[int]:
        """SIGKILL to the whole group: no process of it gets to clean up."""
        pids = self.group(name)
        os.killpg(self.started[name].pid, signal.SIGKILL)
        self.started[name].wait()
        return pids

    def stop_all(self) -> None:
        for process in self.started.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.started.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
        # Whatever did not stop, and any worker its master left behind.
        for process in self.started.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_ready(base: str, limit: float = 60.0) -> str:
    """Poll the readiness probe, or the liveness one where the server has no readiness
    probe (404), until it answers 200; returns its path."""
    deadline = time.monotonic() + limit
    last = "no answer"
    while time.monotonic() < deadline:
        for path in ("/api/v1/ready", "/api/v1/health"):
            try:
                response = requests.get(base + path, timeout=2)
            except requests.RequestException:
                break
            if response.status_code == 200:
                return path
            last = f"{path}: {response.status_code} {response.text[:300]}"
            if response.status_code != 404:
                break
        time.sleep(0.2)
    raise SystemExit(f"{base} not ready after {limit:.0f} s ({last})")


def scans_in_access_log(path: Path, nodes: dict[str, str]) -> dict[str, dict[str, int]]:
    """Scan requests per node and status from nginx's access log; a request that failed
    over counts once at each node it tried, with that node's answer."""
    seen: dict[str, Counter[str]] = {}
    for line in path.read_text().splitlines():
        _, method, uri, _, addresses, statuses = line.split("|")
        if method != "POST" or uri != "/api/v1/scans":
            continue
        for address, status in zip(addresses.split(","), statuses.split(","), strict=False):
            node = nodes.get(address.strip(), address.strip())
            seen.setdefault(node, Counter())[status.strip()] += 1
    return {node: dict(statuses) for node, statuses in sorted(seen.items())}
