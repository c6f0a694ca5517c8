"""Capture the PNG the drawing page really sends: draw a 7 on the pad in Chromium and keep the image of the
last POST /predict. The benchmark loads the server with this file (app/benchmark/canvas-chromium.png), since the
browser's PNG encoder (Chromium: the Up filter, fast zlib) decodes differently from one Pillow writes.

    python -m benchmarks.capture_canvas   # from the repository root; needs /usr/bin/chromium and Playwright
"""

from __future__ import annotations

import base64
import json
import sys
import tempfile
from pathlib import Path

from app.assets import asset_dir
from app.benchmark.bench import CAPTURED_CANVAS as OUT
from app.benchmark.bench import Server
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.drawing import DIGITS, draw_mouse

CHROMIUM = "/usr/bin/chromium"


def main() -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as logs:
        server = Server("litert", 1, asset_dir("models"), Path(logs))
        try:
            server.wait_ready()
            sent: list[str] = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1000, "height": 900})
                page.on("request", lambda r: sent.append(r.post_data or "")
                        if r.method == "POST" and r.url.endswith("/predict") else None)
                page.goto(server.url + "/")
                draw_mouse(page, DIGITS[7])
                page.wait_for_timeout(500)
                browser.close()
        finally:
            server.stop()
    if not sent:
        print("the page sent no POST /predict", file=sys.stderr)
        return 1
    image = json.loads(sent[-1])["image"]
    OUT.write_bytes(base64.b64decode(image.split(",", 1)[1]))
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, from {len(sent)} requests)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
