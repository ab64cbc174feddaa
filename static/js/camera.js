// The scanner's camera: frames from the rear camera go to zxing-wasm (zxing-cpp compiled to
// WebAssembly), or to the browser's BarcodeDetector where zxing-wasm cannot load. Every
// frame's result (the text, or null when no code is in view) goes to `onFrame`, so the
// page knows both when a code appears and when it has left the frame.
"use strict";

(() => {
  async function makeDecoder(wasmBase) {
    if (window.ZXingWASM) {
      try {
        ZXingWASM.prepareZXingModule({
          overrides: { locateFile: (path) => `${wasmBase}/${path}` },
          fireImmediately: true,
        });
        const options = { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 };
        return async (frame) => {
          const found = await ZXingWASM.readBarcodes(frame, options);
          return found.length ? found[0].text : null;
        };
      } catch (error) {
        // fall through to the browser's own detector
      }
    }
    if ("BarcodeDetector" in window) {
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      return async (frame) => {
        const found = await detector.detect(frame);
        return found.length ? found[0].rawValue : null;
      };
    }
    return null;
  }

  // start({ wasmBase, reader, torch, onFrame(text|null, grabbedAt), paused() }) -> true when
  // the camera runs; `paused()` true skips decoding (a request under way).
  async function start({ wasmBase, reader, torch, onFrame, paused }) {
    const decode = await makeDecoder(wasmBase);
    if (!decode || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return false;
    const video = document.createElement("video");
    video.setAttribute("playsinline", "");
    video.muted = true;
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
      video.srcObject = stream;
      reader.replaceChildren(video);
      await video.play();
    } catch (error) {
      return false;
    }
    const [track] = stream.getVideoTracks();
    const capabilities = track.getCapabilities ? track.getCapabilities() : {};
    if (capabilities.torch && torch) {
      let on = false;
      torch.hidden = false;
      torch.onclick = async () => {
        on = !on;
        await track.applyConstraints({ advanced: [{ torch: on }] });
      };
    }
    async function tick() {
      if (video.readyState >= 2 && !paused()) {
        // Phone cameras give 720p or more; 960 px on the long side decodes as well, faster.
        const scale = Math.min(1, 960 / Math.max(video.videoWidth, video.videoHeight));
        canvas.width = Math.round(video.videoWidth * scale);
        canvas.height = Math.round(video.videoHeight * scale);
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        const grabbed = performance.now();
        let found = null;
        try {
          found = await decode(context.getImageData(0, 0, canvas.width, canvas.height));
        } catch (error) {
          found = null; // an undecodable frame: keep going
        }
        onFrame(found, grabbed);
      }
      setTimeout(tick, 80);
    }
    tick();
    return true;
  }

  window.ScannerCamera = { start };
})();
