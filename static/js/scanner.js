// The checkpoint scanner: camera (zxing-wasm) or manual entry -> POST /api/v1/scans ->
// a full-screen verdict. The camera never stops; every request carries a fresh scan_id so
// retries after a network failure are idempotent on the server.
// Over 300 lines on purpose: the page's one controller (camera, verdict screen, corrections,
// manual entry, the queue's display); its rules, storage and network are rules.js,
// store.js and net.js.
"use strict";

(() => {
  const root = document.getElementById("scanner");
  if (!root) return;
  const text = JSON.parse(document.getElementById("scanner-text").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const select = $("checkpoint");
  const STORE = "scanner.checkpoint";
  let direction = "";
  let busy = false;
  let current = null; // {body, data} of the scan on screen
  let lastText = { value: null, at: 0 };
  let frameAt = null; // when the frame that gave the code on screen was grabbed
  let camera = null;
  // Times in the page's language and the jurisdiction's time zone, not the phone's.
  const when = { timeZone: root.dataset.tz || undefined };
  const lang = document.documentElement.lang || undefined;

  const saved = localStorage.getItem(STORE);
  if (saved && [...select.options].some((o) => o.value === saved)) select.value = saved;

  function kind() {
    return select.selectedOptions[0] ? select.selectedOptions[0].dataset.kind : "gate";
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function status(message) {
    $("camera-status").textContent = message;
  }

  async function post(url, body, attempt = 0) {
    try {
      const response = await ScannerNet.postJson(url, body, csrf);
      if (response.status >= 500 || response.status === 429) throw new Error(String(response.status));
      return { ok: response.ok, data: await response.json() };
    } catch (error) {
      if (attempt >= 3) {
        status(text.failed);
        return null;
      }
      status(text.network);
      await sleep(400 * 2 ** attempt);
      return post(url, body, attempt + 1);
    }
  }

  // A scan goes to the server when it answers quickly; otherwise this phone decides
  // (offline.js) and queues the scan. The officer never sees a network error.
  const ONLINE_TIMEOUT = 1500;
  const MAX_LIST_AGE = Number(root.dataset.listMaxAgeHours || 24) * 3600 * 1000;
  let online = navigator.onLine;
  let refreshing = Promise.resolve();

  async function postScan(body) {
    if (!navigator.onLine) return { offline: true };
    try {
      const response = await ScannerNet.postJson(root.dataset.api, body, csrf, ONLINE_TIMEOUT);
      if (response.status >= 500) return { offline: true };
      online = true;
      return { ok: response.ok, data: await response.json() };
    } catch (error) {
      return { offline: true };
    }
  }

  async function decideHere(body) {
    online = false;
    await refreshing; // a list download under way finishes first: decide on the newest
    const verdict = await ScannerOffline.decide({
      code: body.code, number: body.number, plate: body.plate,
      kind: kind(), direction: body.direction, maxAgeMs: MAX_LIST_AGE,
    });
    await ScannerOffline.enqueue(body, verdict);
    const token = verdict.token;
    current = null; // corrections need the server
    render({
      decision: verdict.decision,
      event: verdict.event,
      reasons: verdict.reasons,
      anomalies: [],
      offline: true,
      stale: verdict.stale,
      pass: token ? { plate: token.plate, valid_until: new Date(token.validUntil).toISOString() } : null,
      trip: null,
    });
    showNetwork();
  }

  async function submit(fields) {
    if (busy) return;
    busy = true;
    const body = {
      scan_id: uuid(),
      checkpoint_id: Number(select.value),
      scanned_at: new Date().toISOString(),
      ...fields,
    };
    if (direction && kind() === "gate" && !body.direction) body.direction = direction;
    try {
      const result = window.ScannerOffline ? await postScan(body) : await post(root.dataset.api, body);
      if (result && result.offline) {
        await decideHere(body);
        return;
      }
      if (!result) return;
      if (!result.ok) {
        const errors = result.data.errors || {};
        status(Object.values(errors).flat().join(" ") || result.data.title);
        return;
      }
      current = { body, data: result.data };
      render(result.data);
      loadHistory();
    } finally {
      busy = false;
    }
  }

  function render(data) {
    const panel = $("result");
    const allowed = data.decision === "allow";
    // Lists too old to confirm revocation: amber, never a plain green.
    const amber = allowed && data.offline && data.stale;
    // Let through, but something is wrong with the trip: its own look, the anomaly in
    // large words, so a tired officer cannot take it for a plain green.
    const anomalies = data.anomalies || [];
    const flagged = allowed && anomalies.length > 0;
    const look = amber ? "result-amber" : flagged ? "result-allow result-anomaly" : allowed ? "result-allow" : "result-deny";
    panel.className = `result ${look}`;
    $("offline-band").hidden = !data.offline;
    $("stale-band").hidden = !(data.offline && data.stale);
    $("anomaly-band").hidden = !flagged;
    $("anomaly-band").textContent = anomalies.map((code) => text.reasons[code] || code).join(" ");
    $("verdict").textContent = allowed ? text.allow : text.deny;
    $("event").textContent = data.event ? text[data.event] : "";
    const p = data.pass;
    $("plate").textContent = p ? p.plate : "";
    // An offline verdict knows only what the token carries (plate, validity).
    $("r-driver").textContent = (p && p.driver_name) || "—";
    const category = p ? text.categories[p.category] || p.category : "";
    // A denial away from the pass's destination carries only the public facts.
    $("r-cargo").textContent = p && p.cargo ? `${p.cargo} · ${category}` : "—";
    $("r-cargo").classList.toggle("emergency-cargo", Boolean(p && p.category === "emergency"));
    $("r-destination").textContent = (p && p.destination_enterprise) || "—";
    let trip = "—";
    if (data.trip && p) {
      trip = data.trip.seq === null
        ? text.exit_only
        : text.trip.replace("{seq}", data.trip.seq).replace("{max}", p.max_trips);
    }
    $("r-trip").textContent = trip;
    $("r-valid").textContent = p ? new Date(p.valid_until).toLocaleString(lang, { ...when, dateStyle: "short", timeStyle: "short" }) : "—";
    const reasons = $("reasons");
    reasons.replaceChildren();
    for (const code of flagged ? data.reasons : [...data.reasons, ...anomalies]) {
      const item = document.createElement("li");
      item.textContent = text.reasons[code] || code;
      reasons.append(item);
    }
    // A number that matched with a plate that did not: both plates, side by side.
    if (data.reasons.includes("plate_mismatch") && p && current && current.body.plate) {
      const item = document.createElement("li");
      item.id = "plate-compare";
      item.textContent = text.plate_compare
        .replace("{typed}", current.body.plate.toUpperCase())
        .replace("{expected}", p.plate);
      reasons.append(item);
    }
    const canCorrect = allowed && Boolean(data.event) && !data.offline;
    $("deny-plate").hidden = !canCorrect;
    $("deny-driver").hidden = !canCorrect;
    $("switch").hidden = !(canCorrect && kind() === "gate" && data.event !== "arrival");
    panel.hidden = false;
    $("next").focus();
    // Camera frame to verdict on screen, for the record (read by the browser tests).
    if (frameAt !== null) root.dataset.lastVerdictMs = String(Math.round(performance.now() - frameAt));
    frameAt = null;
  }

  function ready() {
    $("result").hidden = true;
    current = null;
    status(camera ? text.camera_ready : "");
  }

  // Correcting an allowed scan: annul it (a new record), then scan again as the officer says.
  async function correct(fields, reason) {
    if (!current) return;
    const previous = current;
    const annul = await post(`${root.dataset.history}/${previous.data.scan_id}/annul`, { reason });
    if (!annul || !annul.ok) {
      status((annul && annul.data.detail) || text.failed);
      return;
    }
    const again = { ...fields };
    for (const key of ["code", "number", "plate"]) {
      if (previous.body[key]) again[key] = previous.body[key];
    }
    await submit(again);
  }

  $("next").addEventListener("click", ready);
  $("deny-plate").addEventListener("click", () =>
    correct({ deny_reason: "plate_mismatch" }, text.reasons.plate_mismatch));
  $("deny-driver").addEventListener("click", () =>
    correct({ deny_reason: "driver_mismatch" }, text.reasons.driver_mismatch));
  $("switch").addEventListener("click", () => {
    const flipped = current && current.data.event === "entry" ? "exit" : "entry";
    correct({ direction: flipped }, `${text[flipped]}`);
  });

  document.querySelectorAll("[data-direction]").forEach((button) => {
    button.addEventListener("click", () => {
      direction = button.dataset.direction;
      document.querySelectorAll("[data-direction]").forEach((b) => b.classList.toggle("active", b === button));
    });
  });

  function showDirection() {
    root.querySelector(".direction").hidden = kind() !== "gate";
  }

  select.addEventListener("change", () => {
    localStorage.setItem(STORE, select.value);
    showDirection();
    loadHistory();
  });

  $("manual").addEventListener("submit", (event) => {
    event.preventDefault();
    const number = $("m-number").value.trim();
    const typed = $("m-plate").value.trim();
    // The province picked, unless one was typed; none at all is fine (the rest must match).
    const province = $("m-province").value;
    const plate = province && !/^[\u4e00-\u9fff]/.test(typed) ? province + typed : typed;
    if (!number || !typed) {
      status(text.need_both);
      return;
    }
    submit({ number, plate }).then(() => {
      $("m-number").value = "";
      $("m-plate").value = "";
    });
  });

  async function loadHistory() {
    try {
      const url = `${root.dataset.history}?checkpoint_id=${encodeURIComponent(select.value)}&per_page=8`;
      const response = await ScannerNet.get(url);
      if (!response.ok) return;
      const list = $("history");
      const { items } = await response.json();
      list.replaceChildren();
      for (const scan of items) {
        const item = document.createElement("li");
        const time = new Date(scan.recorded_at).toLocaleTimeString(lang, when);
        const label = scan.event === "annul" ? text.annulled
          : `${scan.decision === "allow" ? text.allow : text.deny} ${scan.event !== "none" ? text[scan.event] : ""}`;
        item.className = scan.event === "annul" ? "annul" : scan.decision;
        item.textContent = `${time} · ${scan.plate || "—"} · ${label}`;
        list.append(item);
      }
    } catch (error) {
      // The history is a convenience; scanning goes on without it.
    }
  }

  function onDecoded(decoded) {
    const now = Date.now();
    if (decoded === lastText.value && now - lastText.at < 4000) return;
    lastText = { value: decoded, at: now };
    if (!$("result").hidden) return; // the officer is still reading the last verdict
    if (!/\/P\/[A-Z2-7]+/i.test(decoded)) {
      status(text.unreadable);
      return;
    }
    submit({ code: decoded });
  }

  // Camera: frames from the rear camera go to zxing-wasm (zxing-cpp compiled to
  // WebAssembly), or to the browser's BarcodeDetector where zxing-wasm cannot load.
  async function makeDecoder() {
    if (window.ZXingWASM) {
      try {
        const base = root.dataset.wasm;
        ZXingWASM.prepareZXingModule({
          overrides: { locateFile: (path) => `${base}/${path}` },
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

  const video = document.createElement("video");
  video.setAttribute("playsinline", "");
  video.muted = true;
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  let decode = null;
  let stream = null;
  let torchOn = false;

  async function tick() {
    if (!stream) return;
    if (video.readyState >= 2 && $("result").hidden && !busy) {
      // Phone cameras give 720p or more; 960 px on the long side decodes as well, faster.
      const scale = Math.min(1, 960 / Math.max(video.videoWidth, video.videoHeight));
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      try {
        const grabbed = performance.now();
        const found = await decode(context.getImageData(0, 0, canvas.width, canvas.height));
        if (found) {
          frameAt = grabbed;
          onDecoded(found);
        }
      } catch (error) {
        // An undecodable frame: keep going.
      }
    }
    setTimeout(tick, 80);
  }

  async function startCamera() {
    decode = decode || (await makeDecoder());
    if (!decode || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status(text.camera_failed);
      $("camera-start").hidden = false;
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
      video.srcObject = stream;
      $("reader").replaceChildren(video);
      await video.play();
      status(text.camera_ready);
      $("camera-start").hidden = true;
      const [track] = stream.getVideoTracks();
      const capabilities = track.getCapabilities ? track.getCapabilities() : {};
      if (capabilities.torch) {
        $("torch").hidden = false;
        $("torch").onclick = async () => {
          torchOn = !torchOn;
          await track.applyConstraints({ advanced: [{ torch: torchOn }] });
        };
      }
      tick();
    } catch (error) {
      stream = null;
      status(text.camera_failed);
      $("camera-start").hidden = false;
    }
  }

  // --- the network line: online or not, the lists' age, what waits to be synced -------
  function minutesAgo(at) {
    return Math.max(0, Math.round((Date.now() - at) / 60000));
  }

  async function showNetwork() {
    if (!window.ScannerOffline) return;
    const state = await ScannerOffline.summary();
    const parts = [online && navigator.onLine ? text.online : text.offline];
    parts.push(state.listsAt === null ? text.no_lists
      : text.lists_age.replace("{n}", minutesAgo(state.listsAt)));
    if (state.pending) parts.push(text.queued.replace("{n}", state.pending));
    const line = $("net-status");
    line.textContent = parts.join(" · ");
    const stale = state.listsAt === null || Date.now() - state.listsAt > MAX_LIST_AGE;
    line.className = `net-status ${online && navigator.onLine ? "net-online" : "net-offline"}${stale ? " net-stale" : ""}`;
    const skew = Math.abs(state.clockOffset);
    $("clock-warning").hidden = skew <= 5 * 60000;
    $("clock-warning").textContent = text.clock_off.replace("{n}", Math.round(skew / 60000));
    const refused = $("refused");
    refused.replaceChildren();
    for (const item of state.refused) {
      const row = document.createElement("li");
      const why = item.problem.detail || Object.values(item.problem.errors || {}).flat().join(" ") || item.problem.title;
      row.textContent = `${new Date(item.scanned_at).toLocaleTimeString(lang, when)} · ${text.refused} ${why} `;
      const ok = document.createElement("button");
      ok.type = "button";
      ok.className = "button small";
      ok.textContent = text.acknowledge;
      ok.addEventListener("click", () => ScannerOffline.acknowledge(item.scan_id).then(showNetwork));
      row.append(ok);
      refused.append(row);
    }
    refused.hidden = state.refused.length === 0;
  }

  // Upload first, then fetch the lists: a failed upload never blocks the next download.
  async function syncNow() {
    if (!window.ScannerOffline || !navigator.onLine) {
      showNetwork();
      return;
    }
    try {
      const result = await ScannerOffline.sync(csrf);
      if (!result.failed) online = true;
      if (result.sent) loadHistory();
    } catch (error) { /* kept for the next round */ }
    refreshing = ScannerOffline.refreshLists().then(() => { online = true; }, () => { online = false; });
    await refreshing;
    showNetwork();
    report();
  }

  // Tell the server this phone's state, so supervisors see stale or unsynced scanners.
  function deviceId() {
    let id = localStorage.getItem("scanner.device");
    if (!id) {
      id = uuid();
      localStorage.setItem("scanner.device", id);
    }
    return id;
  }

  async function report() {
    if (!online) return;
    const state = await ScannerOffline.summary();
    const body = {
      device_id: deviceId(),
      checkpoint_id: Number(select.value) || null,
      lists_at: state.listsAt === null ? null : new Date(state.listsAt).toISOString(),
      queued: state.pending,
      oldest_queued_at: state.oldestPending,
    };
    ScannerNet.postJson(root.dataset.report, body, csrf).catch(() => {});
  }

  // Installable: the worker keeps the page and its files; the first visit came before
  // the worker, so the page puts itself into the worker's cache.
  if ("serviceWorker" in navigator && window.caches && root.dataset.sw) {
    navigator.serviceWorker.register(root.dataset.sw, { scope: "/scan" })
      .then(() => navigator.serviceWorker.ready)
      .then(() => navigator.onLine && caches.open("scanner-v2").then((cache) => cache.add(location.href)))
      .then(() => { root.dataset.offlineReady = "true"; })
      .catch(() => {});
  }

  window.addEventListener("online", syncNow);
  window.addEventListener("offline", () => { online = false; showNetwork(); });
  setInterval(syncNow, 30000);

  $("camera-start").addEventListener("click", startCamera);
  showDirection();
  loadHistory();
  syncNow();
  window.addEventListener("load", startCamera);
})();
