"""Which in-browser QR decoder to use on the scanner: html5-qrcode (vendored; zxing-js
inside) against zxing-wasm (from the npm registry, fetched here for the measurement only)
and the browser's BarcodeDetector where Chromium has one. Phone-sized frames (720x1280)
with a pass QR code at three sizes and five conditions; each decoder gets every frame five
times in headless Chromium. Prints success rate and median milliseconds per frame.

    .venv/bin/python scripts/bench_decoder.py
"""

from __future__ import annotations

import functools
import http.server
import json
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
TEXT = (
    "HTTPS://PASS.PINGHU.GOV.CN/P/"
    + "AEAQAAAAAAAAAAABAHEJD7YBZCOT6CPGWWMUMOBYHA4DRC74GLKSWS2UU" * 3
)
TEXT = TEXT[:185]
SIZES = (180, 260, 360)
CONDITIONS = ("clean", "blur", "noise", "rotated", "dim")

PAGE = """<!doctype html><meta charset="utf-8"><div id="h" style="display:none"></div>
<script src="html5-qrcode.min.js"></script><script src="zxing-reader.js"></script><script>
const frames = %(frames)s, expected = %(text)s, runs = 5;
async function imageData(name) {
  const bitmap = await createImageBitmap(await (await fetch(name)).blob());
  const c = new OffscreenCanvas(bitmap.width, bitmap.height), g = c.getContext("2d");
  g.drawImage(bitmap, 0, 0); return {bitmap, data: g.getImageData(0, 0, c.width, c.height)};
}
async function time(fn) { const t = performance.now(); let ok = false;
  try { ok = (await fn()) === expected; } catch (e) {} return [performance.now() - t, ok]; }
async function run() {
  const decoders = {};
  if (window.__Html5QrcodeLibrary__) {
  const h5 = new __Html5QrcodeLibrary__.Html5Qrcode("h", {verbose: false,
    formatsToSupport: [__Html5QrcodeLibrary__.Html5QrcodeSupportedFormats.QR_CODE]});
  decoders["html5-qrcode (zxing-js)"] = async (f) => {
    const blob = await (await fetch(f.name)).blob();
    return (await h5.scanFileV2(new File([blob], f.name, {type: "image/png"}), false)).decodedText; };
  }
  if (window.ZXingWASM) {
    ZXingWASM.prepareZXingModule({overrides: {locateFile: (p) => "./" + p}, fireImmediately: true});
    decoders["zxing-wasm"] = async (f) => {
      const r = await ZXingWASM.readBarcodes(f.data, {formats: ["QRCode"], tryHarder: true});
      return r.length ? r[0].text : null; };
  }
  if ("BarcodeDetector" in window) {
    const d = new BarcodeDetector({formats: ["qr_code"]});
    decoders["BarcodeDetector"] = async (f) => { const r = await d.detect(f.bitmap);
      return r.length ? r[0].rawValue : null; };
  }
  const loaded = [];
  for (const name of frames) loaded.push({name, ...(await imageData(name))});
  const out = {};
  for (const [label, decode] of Object.entries(decoders)) {
    await time(() => decode(loaded[0]));  // warm-up (compiles wasm, JIT)
    out[label] = loaded.map(() => ({ms: [], ok: 0}));
    for (let r = 0; r < runs; r++) for (let i = 0; i < loaded.length; i++) {
      const [ms, ok] = await time(() => decode(loaded[i]));
      out[label][i].ms.push(ms); out[label][i].ok += ok ? 1 : 0; }
  }
  window.results = {out, barcodeDetector: "BarcodeDetector" in window, runs};
}
run();
</script>"""


def frame(size: int, condition: str, rng: random.Random) -> Image.Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(TEXT, optimize=0)
    code.make(fit=True)
    qr = code.make_image().convert("L").resize((size, size), Image.NEAREST)
    canvas = Image.new("L", (720, 1280), 200)
    draw = ImageDraw.Draw(canvas)
    for y in range(0, 1280, 4):  # a little scenery: a vertical gradient
        draw.line([(0, y), (720, y)], fill=150 + y * 80 // 1280)
    if condition == "rotated":
        qr = qr.rotate(12, expand=True, fillcolor=255)
    canvas.paste(qr, ((720 - qr.width) // 2, (1280 - qr.height) // 2))
    if condition == "blur":
        canvas = canvas.filter(ImageFilter.GaussianBlur(1.6))
    elif condition == "noise":
        pixels = canvas.load()
        for _ in range(720 * 1280 // 12):
            x, y = rng.randrange(720), rng.randrange(1280)
            pixels[x, y] = rng.choice((0, 255))
    elif condition == "dim":
        canvas = ImageEnhance.Contrast(canvas).enhance(0.35)
    return canvas.convert("RGB")


def npm_pack(into: Path, spec: str) -> Path | None:
    """Unpack a package from the npm registry into `into/<name>`; None without npm."""
    npm = shutil.which("npm")
    if not npm:
        return None
    done = subprocess.run(
        [npm, "pack", spec, "--silent"], cwd=into, capture_output=True, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    archive = into / lines[-1] if lines else None
    if done.returncode or archive is None or not archive.exists():
        return None
    target = into / spec.split("@")[0]
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target / "package"


def fetch_decoders(into: Path) -> None:
    """The vendored zxing-wasm, and html5-qrcode from npm for the comparison."""
    vendored = ROOT / "static/vendor/zxing-wasm-3.1.4"
    shutil.copy(vendored / "zxing-reader.js", into / "zxing-reader.js")
    shutil.copy(vendored / "zxing_reader.wasm", into / "zxing_reader.wasm")
    package = npm_pack(into, "html5-qrcode@2.3.8")
    if package is None:
        (into / "html5-qrcode.min.js").write_text("")
        print("html5-qrcode could not be fetched; measuring the others", file=sys.stderr)
    else:
        shutil.copy(package / "html5-qrcode.min.js", into / "html5-qrcode.min.js")


def main() -> None:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp())
    rng = random.Random(7)
    names = []
    for size in SIZES:
        for condition in CONDITIONS:
            name = f"{size}-{condition}.png"
            frame(size, condition, rng).save(work / name)
            names.append(name)
    fetch_decoders(work)
    (work / "bench.html").write_text(PAGE % {"frames": json.dumps(names), "text": json.dumps(TEXT)})

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(work))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_port}/bench.html")
        page.wait_for_function("window.results", timeout=600_000)
        results = page.evaluate("window.results")
        browser.close()
    server.shutdown()
    runs = results["runs"]
    print(
        f"{len(names)} frames 720x1280 (QR {', '.join(map(str, SIZES))} px wide; "
        f"{', '.join(CONDITIONS)}), {runs} runs each; BarcodeDetector in this Chromium: "
        f"{results['barcodeDetector']}"
    )
    for label, frames in results["out"].items():
        times = [ms for f in frames for ms in f["ms"]]
        ok = sum(f["ok"] for f in frames)
        missed = [names[i] for i, f in enumerate(frames) if f["ok"] < runs]
        print(
            f"{label:26} decoded {ok}/{len(frames) * runs}  median {statistics.median(times):6.1f}"
            f" ms  p90 {statistics.quantiles(times, n=10)[8]:6.1f} ms  missed: "
            f"{', '.join(missed) or 'none'}"
        )


if __name__ == "__main__":
    main()
