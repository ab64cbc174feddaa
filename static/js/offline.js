// Deciding at a checkpoint without network (DESIGN.md section 9). The phone keeps the
// trust list (public keys) and the signed revocation list in IndexedDB, verifies a pass
// token's ES256 signature with WebCrypto, checks validity against its own clock and the
// revocation list, and queues every offline scan for POST /api/v1/scans/batch. Nothing
// in the queue is dropped: a scan the server refuses stays, with its reason.
"use strict";

(() => {
  const ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const SKEW = 5 * 60 * 1000; // as the server's CLOCK_SKEW
  const DOMAIN = new TextEncoder().encode("TP1");
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  // --- storage --------------------------------------------------------------------------
  const dbReady = new Promise((resolve, reject) => {
    const open = indexedDB.open("scanner-offline", 1);
    open.onupgradeneeded = () => {
      const db = open.result;
      db.createObjectStore("lists");
      db.createObjectStore("queue", { keyPath: "scan_id" });
      db.createObjectStore("seen");
    };
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });

  function request(store, mode, make) {
    return dbReady.then((db) => new Promise((resolve, reject) => {
      const transaction = db.transaction(store, mode);
      const pending = make(transaction.objectStore(store));
      transaction.oncomplete = () => resolve(pending ? pending.result : undefined);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    }));
  }
  const get = (store, key) => request(store, "readonly", (s) => s.get(key));
  const put = (store, value, key) => request(store, "readwrite", (s) => s.put(value, key));
  const remove = (store, key) => request(store, "readwrite", (s) => s.delete(key));
  const all = (store) => request(store, "readonly", (s) => s.getAll());

  // --- the signed lists -----------------------------------------------------------------
  // What the server signs: the answer without `signature`, keys sorted, no spaces.
  function canonical(value) {
    if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
    if (value && typeof value === "object") {
      return `{${Object.keys(value).sort()
        .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
    }
    return JSON.stringify(value);
  }

  function b64url(text) {
    const plain = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = plain + "=".repeat((4 - (plain.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  const keyCache = new Map();
  function importKey(jwk) {
    const id = `${jwk.x}.${jwk.y}`;
    if (!keyCache.has(id)) {
      keyCache.set(id, crypto.subtle.importKey(
        "jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, ext: true },
        { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]));
    }
    return keyCache.get(id);
  }

  async function verifyList(body, keys) {
    const entry = keys.find((k) => k.kid === body.kid);
    if (!entry || typeof body.signature !== "string") return false;
    const { signature, ...unsigned } = body;
    try {
      return await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-256" }, await importKey(entry.jwk), b64url(signature),
        new TextEncoder().encode(canonical(unsigned)));
    } catch (error) {
      return false;
    }
  }

  async function fetchJson(url, timeout = 8000) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeout);
    try {
      const response = await fetch(url, { credentials: "same-origin", signal: abort.signal });
      if (!response.ok) throw new Error(String(response.status));
      return { body: await response.json(), date: Date.parse(response.headers.get("Date")) };
    } finally {
      clearTimeout(timer);
    }
  }

  // Fetch the keys, then the revocation list (only what changed since the kept counter);
  // a list whose signature does not verify is refused and the kept one stays.
  async function refreshLists() {
    const kept = (await get("lists", "current")) || { revoked: {}, ctr: null };
    const trust = await fetchJson("/api/v1/trust");
    const since = kept.ctr !== null && kept.keys ? `?since=${kept.ctr}` : "";
    const listed = await fetchJson(`/api/v1/revocations${since}`);
    if (!(await verifyList(listed.body, trust.body.keys))) {
      return { ok: false, reason: "bad_list_signature" };
    }
    const revoked = since ? { ...kept.revoked } : {};
    for (const id of listed.body.restored || []) delete revoked[id];
    for (const entry of listed.body.revoked) revoked[entry.pass_id] = Date.parse(entry.until);
    const now = Date.now();
    for (const [id, until] of Object.entries(revoked)) if (until < now) delete revoked[id];
    // For numbers typed by hand: the live passes, plates as keyed hashes.
    let passes = kept.passes || null;
    try {
      const live = await fetchJson("/api/v1/scanner/passes", 20000);
      passes = { key: live.body.key, byNumber: {} };
      for (const item of live.body.items) passes.byNumber[item.number] = item;
    } catch (error) { /* keep the last one */ }
    const lists = {
      keys: trust.body.keys,
      revoked,
      passes,
      ctr: listed.body.ctr,
      fetchedAt: now,
      clockOffset: Number.isNaN(trust.date) ? 0 : trust.date - now,
    };
    await put("lists", lists, "current");
    return { ok: true, lists };
  }

  // --- the pass token (trust/tokens.py) ---------------------------------------------------
  function base32(text) {
    let bits = 0;
    let value = 0;
    const out = [];
    for (const ch of text.toUpperCase()) {
      const digit = ALPHABET.indexOf(ch);
      if (digit < 0) return null;
      value = (value << 5) | digit;
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        out.push((value >>> bits) & 0xff);
        value &= (1 << bits) - 1;
      }
    }
    if (value !== 0) return null; // only the canonical spelling
    return new Uint8Array(out);
  }

  function parseToken(text) {
    const match = /\/P\/([A-Z2-7]+)\s*$/i.exec(text || "");
    const data = match && base32(match[1]);
    if (!data || data.length < 19 + 64 || data[0] !== 1) return null;
    const view = new DataView(data.buffer);
    const plateLength = data[18];
    const bodyLength = 19 + plateLength;
    if (data.length !== bodyLength + 64) return null;
    let plate;
    try {
      plate = new TextDecoder("utf-8", { fatal: true }).decode(data.slice(19, bodyLength));
    } catch (error) {
      return null;
    }
    return {
      kid: String(data[1]),
      passId: Number(view.getBigUint64(2)),
      validFrom: view.getUint32(10) * 60000,
      validUntil: view.getUint32(14) * 60000,
      plate,
      body: data.slice(0, bodyLength),
      signature: data.slice(bodyLength),
    };
  }

  async function signatureHolds(token, keys, now) {
    const entry = keys.find((k) => k.kid === token.kid);
    if (!entry || Date.parse(entry.not_before) > now) return "unknown_key";
    const s = BigInt(`0x${[...token.signature.slice(32)].map((b) => b.toString(16).padStart(2, "0")).join("")}`);
    if (s > ORDER / 2n) return "bad_signature"; // the high-S twin: one code per pass
    const signed = new Uint8Array(DOMAIN.length + token.body.length);
    signed.set(DOMAIN);
    signed.set(token.body, DOMAIN.length);
    const ok = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" }, await importKey(entry.jwk), token.signature, signed);
    return ok ? null : "bad_signature";
  }

  async function plateHash(keyHex, plate) {
    const raw = Uint8Array.from(keyHex.match(/../g), (h) => parseInt(h, 16));
    const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(plate)));
    return [...mac.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  // fleet.domain.PROVINCES: a plate typed without its province is tried with each.
  const PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

  // A number and a plate typed by hand: found in the kept list of live passes, the plate's
  // keyed hash matching. What the token would carry comes from the list instead. A number
  // found with a plate that is not its plate: { mismatch: true }.
  async function typedPass(lists, number, plate) {
    if (!lists.passes) return null;
    const item = lists.passes.byNumber[(number || "").trim()];
    if (!item) return null;
    const typed = (plate || "").replace(/[\s·•.\-]/g, "").toUpperCase();
    const candidates = /^[A-Z]/.test(typed) ? [...PROVINCES].map((p) => p + typed) : [typed];
    for (const candidate of candidates) {
      if ((await plateHash(lists.passes.key, candidate)) !== item.plate_hash) continue;
      return {
        passId: item.pass_id, plate: candidate,
        validFrom: Date.parse(item.valid_from), validUntil: Date.parse(item.valid_until),
      };
    }
    return { mismatch: true };
  }

  // --- the decision (checkpoints/domain.py, as far as a phone can know) -----------------
  async function decide({ code, number, plate, kind, direction, maxAgeMs }) {
    const lists = await get("lists", "current");
    const now = Date.now() + (lists ? lists.clockOffset : 0); // the server's time when known
    const deny = (reason, token) => ({ decision: "deny", event: null, reasons: [reason], token });
    if (!lists || !lists.keys) return { ...deny("no_lists"), stale: true };
    let token;
    if (code) {
      token = parseToken(code);
      if (!token) return deny("malformed");
      const forged = await signatureHolds(token, lists.keys, now);
      if (forged) return deny(forged);
    } else {
      token = await typedPass(lists, number, plate);
      if (!token) return deny("not_found");
      if (token.mismatch) return deny("plate_mismatch");
    }
    const problems = [];
    if (lists.revoked[token.passId] && lists.revoked[token.passId] > now) problems.push("revoked");
    else if (now > token.validUntil + SKEW) problems.push("expired");
    else if (now < token.validFrom - SKEW) problems.push("not_yet_valid");
    const seen = await get("seen", String(token.passId));
    let event = "arrival";
    if (kind === "gate") event = direction || (seen === "entry" ? "exit" : "entry");
    const stale = Date.now() - lists.fetchedAt > maxAgeMs;
    if (event !== "exit" && problems.length) return { ...deny(problems[0], token), stale };
    // Exit is allowed even late or revoked, so trucks can leave; the reasons inform.
    return { decision: "allow", event, reasons: problems, token, stale };
  }

  async function enqueue(body, verdict) {
    await put("queue", {
      ...body,
      offline: true,
      decision: verdict.decision,
      event: verdict.event,
      state: "pending",
    });
    if (verdict.decision === "allow" && verdict.token) {
      await put("seen", verdict.event, String(verdict.token.passId));
    }
  }

  // Upload what is queued, oldest first, in batches; an item the server refused stays
  // in the queue with its problem for the officer to see and acknowledge.
  async function sync(csrf) {
    const queued = (await all("queue")).filter((item) => item.state === "pending");
    queued.sort((a, b) => a.scanned_at.localeCompare(b.scanned_at));
    let sent = 0;
    for (let start = 0; start < queued.length; start += 200) {
      const chunk = queued.slice(start, start + 200);
      const items = chunk.map(({ state, problem, ...item }) => item);
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), 15000);
      let answer;
      try {
        const response = await fetch("/api/v1/scans/batch", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
          body: JSON.stringify({ items }),
          signal: abort.signal,
        });
        if (!response.ok) return { sent, failed: true };
        answer = await response.json();
      } catch (error) {
        return { sent, failed: true };
      } finally {
        clearTimeout(timer);
      }
      for (const [index, result] of answer.items.entries()) {
        const item = chunk[index];
        if (result.status === "error" && result.problem && result.problem.status < 500) {
          await put("queue", { ...item, state: "refused", problem: result.problem });
        } else if (result.status !== "error") {
          await remove("queue", item.scan_id);
          sent += 1;
        }
      }
    }
    return { sent, failed: false };
  }

  async function summary() {
    const lists = await get("lists", "current");
    const queue = await all("queue");
    const pending = queue.filter((i) => i.state === "pending");
    pending.sort((a, b) => a.scanned_at.localeCompare(b.scanned_at));
    return {
      listsAt: lists ? lists.fetchedAt : null,
      clockOffset: lists ? lists.clockOffset : 0,
      pending: pending.length,
      oldestPending: pending.length ? pending[0].scanned_at : null,
      refused: queue.filter((i) => i.state === "refused"),
    };
  }

  const acknowledge = (scanId) => remove("queue", scanId);

  window.ScannerOffline = { refreshLists, decide, enqueue, sync, summary, acknowledge, parseToken };
})();
