"""gunicorn reads this file from the working directory: request logs mask tokens and
query values (see core/logs.py; the app writes one line per request itself, so leave gunicorn's
access log off unless a proxy needs its format), and Prometheus counters are shared by
the workers through files in PROMETHEUS_MULTIPROC_DIR (a fresh folder when unset)."""

import glob
import os
import tempfile

logger_class = "core.logs.GunicornLogger"


def on_starting(_server):
    # Before any worker imports prometheus_client, which reads this once.
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="trafficpass-metrics-")
        return
    os.makedirs(folder, exist_ok=True)
    for stale in glob.glob(os.path.join(folder, "*.db")):  # a previous run's counts
        os.remove(stale)


def child_exit(_server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
