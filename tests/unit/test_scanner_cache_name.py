"""The scanner page puts itself into its service worker's cache by name: the two names must
be one, or after a worker update the page is not kept and the scanner does not open with no
network (a reload offline fails)."""

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static" / "js"


def test_the_page_and_its_worker_name_the_same_cache():
    worker = re.search(r'const CACHE = "([^"]+)"', (STATIC / "scanner-sw.js").read_text())
    page = re.findall(r'caches\.open\("([^"]+)"\)', (STATIC / "scanner.js").read_text())
    assert worker is not None
    assert page == [worker[1]]
