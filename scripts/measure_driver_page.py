"""The driver's page on an emulated slow 3G connection (Chrome's preset: 2 s round trip,
400 kbit/s each way), in Debian's Chromium at 360x740: the bytes transferred, and the time
from opening the SMS link to a scannable code on screen, cold (first visit) and warm (the
service worker's copy is there). The page's CDP session throttles the page, not the
service worker's own fetches, so "warm" is measured with no network at all (the kept
copy, after the worker's fetch fails), the case the copy exists for.

.venv/bin/python scripts/measure_driver_page.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from benchdata import bench_app, jurisdiction, submit_passes

SLOW_3G = {
    "offline": False,
    "latency": 2000,
    "downloadThroughput": 400 * 1000 / 8,
    "uploadThroughput": 400 * 1000 / 8,
}


def open_link(context, url: str, *, offline: bool = False) -> tuple[float, int]:
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    context.set_offline(offline)
    transferred = []
    cdp.on("Network.loadingFinished", lambda e: transferred.append(e["encodedDataLength"]))
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector("#driver-code img", state="visible")
    page.wait_for_function("document.querySelector('#driver-code img').complete")
    seconds = time.perf_counter() - started
    if not offline:
        page.wait_for_selector("[data-offline-ready=true]", timeout=60_000)
    page.close()
    return seconds, sum(transferred)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright
    from sqlalchemy import select
    from werkzeug.serving import make_server

    from core.db import utcnow
    from passes import context as pass_context
    from passes import services
    from passes.models import Pass

    app, _ = bench_app()
    j = jurisdiction(app)
    with app.test_request_context():
        [pass_id] = submit_passes(j, 1)
        services.approve_pass(
            j.session,
            pass_id,
            j.reviewer,
            now=utcnow(),
            issuer=pass_context.issuer(),
        )
    key = j.session.scalar(select(Pass.driver_key).where(Pass.id == pass_id))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/d/{key}"

    cold, warm, sizes = [], [], []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for _ in range(args.runs):
            context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
            seconds, size = open_link(context, url)
            cold.append(seconds)
            sizes.append(size)
            warm.append(open_link(context, url, offline=True)[0])
            context.close()
        browser.close()
    server.shutdown()
    print(f"transferred on the first visit: {statistics.median(sizes) / 1024:.1f} KiB")
    print(
        f"slow 3G, link to scannable code: cold median {statistics.median(cold):.2f} s "
        f"({', '.join(f'{c:.2f}' for c in cold)}); warm, no network: median "
        f"{statistics.median(warm):.2f} s "
        f"({', '.join(f'{w:.2f}' for w in warm)})"
    )


if __name__ == "__main__":
    main()
