"""docs/integrations.md's example runs as written: a machine key files a vehicle, a driver
and a pass against a live server."""

import os
import re
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

from werkzeug.serving import make_server

from tests.support import api_token, id_number, now, plate

DOC = Path(__file__).resolve().parents[2] / "docs/integrations.md"


def test_the_documented_key_flow_files_a_pass(app, client, make, tmp_path):
    snippet = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)[1]
    clerk = api_token(client, make.enterprise_user(make.enterprise()).username)
    made = client.post(
        "/api/v1/api-keys",
        json={"name": "TMS", "scopes": ["fleet:write", "passes:write"]},
        headers=clerk,
    ).get_json()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    start = now().replace(microsecond=0)
    try:
        done = subprocess.run(
            [sys.executable, "-c", snippet],
            env={
                **os.environ,
                "BASE": f"http://127.0.0.1:{server.server_port}",
                "KEY": made["key"],
                "PLATE": plate(),
                "ID_NUMBER": id_number(),
                "VALID_FROM": start.isoformat(),
                "VALID_UNTIL": (start + timedelta(days=2)).isoformat(),
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.shutdown()
        thread.join()
    assert done.returncode == 0, done.stderr
    number, status = done.stdout.split()
    assert len(number) == 12
    assert status == "submitted"
