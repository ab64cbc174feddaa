// The checkpoint scanner: camera (camera.js) or manual entry -> POST /api/v1/scans -> a
// full-screen verdict. One read makes one scan (the code is held until it leaves the
// frame); each request carries a fresh scan_id, so retries are idempotent on the server.
// Over 300 lines on purpose: the page's one controller (reads, verdict screen, corrections
// and undo, manual entry, the queue's owner); its camera, rules, storage, network and side
// panels are camera.js, rules.js, store.js, net.js and scanner-view.js.
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
  let frameAt = null; // when the frame that gave the code on screen was grabbed
  // Times in the page's language and the jurisdiction's time zone, not the phone's.
  const when = { timeZone: root.dataset.tz || undefined };
  const lang = document.documentElement.lang || undefined;

  const saved = localStorage.getItem(STORE);
  if (saved && [...select.options].some((o) => o.value === saved)) select.value = saved;

  const kind = () => (select.selectedOptions[0] ? select.selectedOptions[0].dataset.kind : "gate");

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
      code: body.code, number: body.number, plate: body.plate, checkpointId: body.checkpoint_id,
      kind: kind(), direction: body.direction, maxAgeMs: MAX_LIST_AGE,
    });
    await ScannerOffline.enqueue(body, verdict);
    const token = verdict.token;
    // What the officer compares offline: the driver's masked name, the destination.
    const facts = token ? await ScannerOffline.facts(token) : {};
    current = null; // corrections need the server
    render({
      decision: verdict.decision,
      event: verdict.event,
      reasons: verdict.reasons,
      anomalies: [],
      offline: true, lane: verdict.lane, booking: verdict.booking,
      stale: verdict.stale,
      unchecked: verdict.plateUnchecked,
      pass: token ? {
        plate: token.plate,
        valid_until: new Date(token.validUntil).toISOString(),
        driver_name: facts.driver, destination_enterprise: facts.destination,
        issuer: facts.issuer,
      } : null,
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
      remember(body, result.data);
      render(result.data);
      loadHistory();
    } finally {
      busy = false;
    }
  }

  function render(data) {
    const panel = $("result");
    const allowed = data.decision === "allow";
    // Lists too old to confirm revocation, or a typed plate not checked: amber, not green.
    const amber = allowed && data.offline && (data.stale || data.unchecked);
    // Let through, but something is wrong with the trip: its own look, the anomaly in
    // large words, so a tired officer cannot take it for a plain green.
    const anomalies = data.anomalies || [];
    const flagged = allowed && anomalies.length > 0;
    const look = amber ? "result-amber" : flagged ? "result-allow result-anomaly" : allowed ? "result-allow" : "result-deny";
    panel.className = `result ${look}`;
    $("offline-band").hidden = !data.offline;
    $("repeat-band").hidden = !data.repeat_of;
    $("stale-band").hidden = !(data.offline && data.stale);
    $("plate-band").hidden = !(data.offline && data.unchecked);
    $("anomaly-band").hidden = !flagged;
    $("anomaly-band").textContent = anomalies.map((code) => text.reasons[code] || code).join(" ");
    ScannerView.lane($("lane-band"), data, text);
    $("verdict").textContent = !allowed ? text.deny : data.offline && data.unchecked ? text.allow_unchecked : text.allow;
    $("event").textContent = data.event ? text[data.event] : "";
    const p = data.pass;
    $("plate").textContent = p ? p.plate : "";
    $("r-driver").textContent = (p && p.driver_name) || "—";
    const category = p ? text.categories[p.category] || p.category : "";
    // A denial away from the pass's destination carries only the public facts.
    $("r-cargo").textContent = p && p.cargo ? `${p.cargo} · ${category}` : "—";
    $("r-cargo").classList.toggle("emergency-cargo", Boolean(p && p.category === "emergency"));
    $("r-destination").textContent = (p && p.destination_enterprise) || "—";
    ScannerView.issuer($("r-issuer"), p, data.asked_issuer && text.asked[data.asked_issuer]);
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
    for (const code of flagged ? data.reasons : new Set([...data.reasons, ...anomalies])) {
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
    // A repeat's corrections act on the scan it repeats: only when that was this officer's.
    const mine = !data.repeat_of || (lastMine && lastMine.scanId === data.repeat_of);
    const canCorrect = allowed && Boolean(data.event) && !data.offline && mine;
    $("deny-plate").hidden = !canCorrect;
    $("deny-driver").hidden = !canCorrect;
    $("switch").hidden = !(canCorrect && kind() === "gate" && data.event !== "arrival");
    // Inside at another gate moments ago: the officer checks, then confirms the exit.
    $("confirm-exit").hidden = !(data.reasons || []).includes("inside_elsewhere") || !current;
    panel.hidden = false;
    $("next").focus();
    // Camera frame to verdict on screen, for the record (read by the browser tests).
    if (frameAt !== null) root.dataset.lastVerdictMs = String(Math.round(performance.now() - frameAt));
    frameAt = null;
  }

  function ready() {
    $("result").hidden = true;
    current = null;
    resumeAt = performance.now() + PAUSE_MS;
    status(cameraOn ? text.camera_ready : "");
  }

  // The scan a correction acts on: a repeat's is the scan it repeats.
  const targetOf = (data) => data.repeat_of || data.scan_id;

  // Corrections: annul (a new record, with a reason from the list) and, for a plate or a
  // driver that does not match, scan again as a denial; "wrong direction" is one request
  // (the server annuls and records the other direction together).
  async function annul(scanId, reason, note) {
    const body = note ? { reason, note } : { reason };
    const answer = await post(`${root.dataset.history}/${scanId}/annul`, body);
    if (!answer || !answer.ok) {
      status((answer && (answer.data.detail || answer.data.title)) || text.failed);
      return null;
    }
    if (lastMine && lastMine.scanId === scanId) lastMine = null;
    showUndo();
    loadHistory();
    return answer.data;
  }

  async function correct(fields, reason) {
    if (!current) return;
    const previous = current;
    if (!(await annul(targetOf(previous.data), reason))) return;
    const again = { ...fields };
    for (const key of ["code", "number", "plate"]) {
      if (previous.body[key]) again[key] = previous.body[key];
    }
    await submit(again);
  }

  async function switchDirection(scanId, note) {
    const done = await annul(scanId, "wrong_direction", note);
    if (!done) return;
    if (done.redo) {
      current = { body: {}, data: done.redo };
      remember({}, done.redo);
      render(done.redo);
    } else {
      $("result").hidden = true;
      status(text.undone);
    }
  }

  $("next").addEventListener("click", ready);
  $("deny-plate").addEventListener("click", () => correct({ deny_reason: "plate_mismatch" }, "wrong_vehicle"));
  $("deny-driver").addEventListener("click", () => correct({ deny_reason: "driver_mismatch" }, "wrong_vehicle"));
  $("switch").addEventListener("click", () => current && switchDirection(targetOf(current.data)));
  $("confirm-exit").addEventListener("click", () => {
    if (!current) return;
    const again = { direction: "exit" };
    for (const key of ["code", "number", "plate"]) {
      if (current.body[key]) again[key] = current.body[key];
    }
    $("result").hidden = true;
    submit(again);
  });

  // Undo: the officer's own last allowed scan, within the ten minutes the server allows.
  const UNDO_MS = 10 * 60 * 1000;
  let lastMine = null; // { scanId, plate, event, at, gate }

  function remember(body, data) {
    // A repeat may repeat another officer's scan: the last scan of one's own stays.
    if (data.decision !== "allow" || !data.event || data.offline || data.repeat_of) return;
    const plate = data.pass ? data.pass.plate : "";
    lastMine = { scanId: data.scan_id, plate, event: data.event, at: Date.now(), gate: kind() === "gate" };
    showUndo();
  }

  function showUndo() {
    const fresh = lastMine && Date.now() - lastMine.at < UNDO_MS;
    $("undo-last").hidden = !fresh;
    if (fresh) $("undo-last").textContent = text.undo_last.replace("{plate}", lastMine.plate).replace("{event}", text[lastMine.event]);
    if (!fresh) $("undo").hidden = true;
  }
  setInterval(showUndo, 30000);

  $("undo-last").addEventListener("click", () => {
    if (!lastMine) return;
    $("undo-what").textContent = $("undo-last").textContent;
    $("undo-wrong-direction").hidden = !(lastMine.gate && lastMine.event !== "arrival");
    $("undo").hidden = false;
    $("undo").scrollIntoView({ block: "center" });
  });
  $("undo-cancel").addEventListener("click", () => { $("undo").hidden = true; });
  $("undo").addEventListener("submit", async (event) => {
    event.preventDefault();
    const picked = $("undo").querySelector('input[name="undo-reason"]:checked');
    $("undo-error").hidden = Boolean(picked);
    if (!picked || !lastMine) return;
    const note = $("undo-note").value.trim();
    const target = lastMine.scanId;
    $("undo").hidden = true;
    $("undo-note").value = "";
    picked.checked = false;
    if (picked.value === "wrong_direction") {
      await switchDirection(target, note);
    } else if (await annul(target, picked.value, note)) {
      $("result").hidden = true;
      status(text.undone);
    }
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
      const { items } = await response.json();
      ScannerView.history($("history"), items, text, timeOf);
    } catch (error) {
      // The history is a convenience; scanning goes on without it.
    }
  }

  // One read, one scan. The code that gave a verdict is held: the camera does not decide
  // it again until it has left the frame for a moment, nor in the pause after "next" (the
  // server, besides, answers a read again within REPEAT_SCAN_SECONDS as a repeat).
  const LEAVE_MS = 700;
  const PAUSE_MS = 1200;
  let held = null; // { text, goneSince }
  let resumeAt = 0;
  let cameraOn = false;

  function onFrame(found, grabbed) {
    const now = performance.now();
    if (held) {
      if (found === held.text) {
        held.goneSince = null;
        if ($("result").hidden && now >= resumeAt) status(text.hold);
        return;
      }
      if (held.goneSince === null) held.goneSince = now;
      if (now - held.goneSince < LEAVE_MS) return;
      held = null;
      if ($("result").hidden) status(text.camera_ready);
    }
    if (!found || !$("result").hidden || busy || now < resumeAt) return;
    if (!/\/P\/[A-Z2-7]+/i.test(found)) {
      status(text.unreadable);
      return;
    }
    held = { text: found, goneSince: null };
    frameAt = grabbed;
    submit({ code: found });
  }

  async function startCamera() {
    cameraOn = await ScannerCamera.start({
      wasmBase: root.dataset.wasm,
      reader: $("reader"),
      torch: $("torch"),
      onFrame,
      paused: () => busy,
    });
    status(cameraOn ? text.camera_ready : text.camera_failed);
    $("camera-start").hidden = cameraOn;
  }

  // --- the network line ---------------------------------------------------------------
  const timeOf = (iso) => new Date(iso).toLocaleTimeString(lang, when);

  async function showNetwork() {
    if (!window.ScannerOffline) return;
    const state = await ScannerOffline.summary();
    const els = { line: $("net-status"), clock: $("clock-warning"), refused: $("refused") };
    ScannerView.network(els, state, {
      online: online && navigator.onLine,
      maxAgeMs: MAX_LIST_AGE,
      text,
      time: timeOf,
      acknowledge: (scanId) => ScannerOffline.acknowledge(scanId).then(showNetwork),
    });
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
      .then(() => navigator.onLine && caches.open("scanner-v5").then((cache) => cache.add(location.href)))
      .then(() => { root.dataset.offlineReady = "true"; })
      .catch(() => {});
  }

  // The queue is this officer's: another user's scans on this phone are never sent as theirs.
  if (window.ScannerOffline) ScannerOffline.setOwner(Number(root.dataset.user));
  const signOut = document.querySelector('form[action$="/logout"]');
  if (signOut && window.ScannerOffline) {
    signOut.addEventListener("submit", async (event) => {
      if (signOut.dataset.checked) return;
      event.preventDefault();
      const { pending } = await ScannerOffline.summary();
      if (pending && !window.confirm(text.signout_pending.replace("{n}", pending))) return;
      signOut.dataset.checked = "1";
      signOut.requestSubmit();
    });
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
