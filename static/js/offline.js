// Deciding at a checkpoint without network (docs/architecture.md, "Offline scanning"): the
// phone keeps the trust list (public keys) and the signed revocation list (store.js),
// verifies a pass token's ES256 signature with WebCrypto, judges it with rules.js against
// its own clock and the lists, and queues every offline scan for POST /api/v1/scans/batch
// (net.js). Nothing in the queue is dropped: a scan the server refuses stays, with its reason.
// The queue is its officer's: each scan carries who made it, and only theirs is sent or
// counted while they are signed in.
"use strict";

(() => {
  const { get, put, remove, all } = window.ScannerStore;
  const rules = window.ScannerRules;
  const net = window.ScannerNet;

  let owner = null; // the signed-in user's id (setOwner)
  const setOwner = (id) => { owner = id; };
  const mine = (item) => item.user_id === owner;

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
        { name: "ECDSA", hash: "SHA-256" }, await importKey(entry.jwk), rules.b64url(signature),
        new TextEncoder().encode(rules.canonical(unsigned)));
    } catch (error) {
      return false;
    }
  }

  // Fetch the revocation list (only what changed since the kept counter), then the keys;
  // a list whose signature does not verify is refused and the kept one stays.
  async function refreshLists() {
    const kept = (await get("lists", "current")) || { revoked: {}, ctr: null };
    const since = kept.ctr !== null && kept.keys ? `?since=${kept.ctr}` : "";
    // The list first, then the keys: a key made to sign it (a jurisdiction's first) is
    // then among them.
    const listed = await net.getJson(`/api/v1/revocations${since}`);
    const trust = await net.getJson("/api/v1/trust");
    if (!(await verifyList(listed.body, trust.body.keys))) {
      return { ok: false, reason: "bad_list_signature" };
    }
    const revoked = since ? { ...kept.revoked } : {};
    for (const id of listed.body.restored || []) delete revoked[id];
    // A peer's pass kept here is listed by its issuer's name for it ("330482/17"), as its
    // code names it; ours by our id.
    for (const entry of listed.body.revoked) {
      revoked[entry.ref || entry.pass_id] = Date.parse(entry.until);
    }
    const now = Date.now();
    for (const [id, until] of Object.entries(revoked)) if (until < now) delete revoked[id];
    // For numbers typed by hand: the live passes (by number; no plates).
    let passes = kept.passes || null;
    try {
      const live = await net.getJson("/api/v1/scanner/passes", 20000);
      passes = { byNumber: {}, byId: {}, crewsRequired: Boolean(live.body.crews_required) };
      for (const item of live.body.items) {
        passes.byNumber[item.number] = item;
        passes.byId[item.ref || item.pass_id] = item;
      }
    } catch (error) { /* keep the last one */ }
    const lists = {
      areaCode: trust.body.area_code,
      keys: trust.body.keys,
      peers: trust.body.peers || [],
      revoked,
      passes,
      ctr: listed.body.ctr,
      crewsRequired: Boolean(passes && passes.crewsRequired),
      fetchedAt: now,
      clockOffset: Number.isNaN(trust.date) ? 0 : trust.date - now,
    };
    await put("lists", lists, "current");
    return { ok: true, lists };
  }

  function peerOf(lists, token) {
    return token.issuer && token.issuer !== lists.areaCode ? token.issuer : null;
  }

  function keysFor(lists, token) {
    const issuer = peerOf(lists, token);
    if (!issuer) return lists.keys;
    const peer = (lists.peers || []).find((p) => p.area_code === issuer);
    return peer ? peer.keys : null;
  }

  // How the kept lists name a pass: ours by id, a peer's by "<issuer>/<its id>".
  function passKey(lists, token) {
    const issuer = peerOf(lists, token);
    return issuer ? `${issuer}/${token.passId}` : String(token.passId);
  }

  async function signatureHolds(token, keys, now) {
    const entry = keys.find((k) => k.kid === token.kid);
    if (!entry || Date.parse(entry.not_before) > now) return "unknown_key";
    if (rules.highS(token.signature)) return "bad_signature";
    const ok = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" }, await importKey(entry.jwk), token.signature,
      rules.signedBytes(token));
    return ok ? null : "bad_signature";
  }

  // A number typed by hand: found in the kept list of live passes. The list holds no
  // plates (so it is no plate register): the plate the officer typed is taken as read,
  // the verdict says it was not checked, and the server checks it on upload.
  function typedPass(lists, number, plate) {
    if (!lists.passes) return null;
    const item = lists.passes.byNumber[(number || "").trim()];
    if (!item) return null;
    const [issuer, theirs] = item.ref ? item.ref.split("/") : [null, null];
    return {
      passId: theirs ? Number(theirs) : item.pass_id, issuer,
      plate: rules.plateCandidates(plate)[0] || plate,
      validFrom: Date.parse(item.valid_from), validUntil: Date.parse(item.valid_until),
      plateUnchecked: true,
    };
  }

  // The phone's verdict: the token checked against the kept lists, then rules.judge.
  async function decide({ code, number, plate, kind, checkpointId, direction, maxAgeMs }) {
    const lists = await get("lists", "current");
    const now = Date.now() + (lists ? lists.clockOffset : 0); // the server's time when known
    if (!lists || !lists.keys) return { ...rules.deny("no_lists"), stale: true };
    let token;
    if (code) {
      token = rules.parseToken(code);
      if (!token) return rules.deny("malformed");
      // A code naming another jurisdiction is checked with that peer's synced keys; one
      // naming a jurisdiction we do not federate with is unknown_issuer.
      const keys = keysFor(lists, token);
      if (!keys) return rules.deny("unknown_issuer");
      const forged = await signatureHolds(token, keys, now);
      if (forged) return rules.deny(forged);
    } else {
      // A number of a jurisdiction we do not federate with is no pass here (nor a typo).
      const area = (number || "").trim().slice(0, 6);
      const known = area === lists.areaCode || (lists.peers || []).some((p) => p.area_code === area);
      if (/^\d{6}$/.test(area) && !known) return rules.deny("unknown_issuer");
      token = typedPass(lists, number, plate);
      if (!token) return rules.deny("not_found");
    }
    const verdict = rules.judge({
      token,
      item: lists.passes ? lists.passes.byId[passKey(lists, token)] || null : null,
      checkpointId,
      crewsRequired: Boolean(lists.crewsRequired),
      revokedUntil: lists.revoked[passKey(lists, token)],
      seen: await get("seen", passKey(lists, token)),
      kind,
      direction,
      now,
      fetchedAt: lists.fetchedAt,
      wallNow: Date.now(),
      maxAgeMs,
    });
    return { ...verdict, plateUnchecked: Boolean(token.plateUnchecked) };
  }

  // What the officer compares offline, from the kept list: the driver's masked name and
  // the destination (absent for a pass the list does not hold).
  async function facts(token) {
    const lists = await get("lists", "current");
    const byId = lists && lists.passes ? lists.passes.byId : null;
    const item = byId ? byId[passKey(lists, token)] : null;
    const issuer = lists ? peerOf(lists, token) : null;
    const peer = issuer ? (lists.peers || []).find((p) => p.area_code === issuer) : null;
    return {
      ...(item ? { driver: item.driver, destination: item.destination } : {}),
      issuer: peer ? { area_code: issuer, name: peer.name } : null,
    };
  }

  async function enqueue(body, verdict) {
    await put("queue", {
      ...body,
      user_id: owner,
      offline: true,
      decision: verdict.decision,
      event: verdict.event,
      state: "pending",
    });
    if (verdict.decision === "allow" && verdict.token) {
      const lists = await get("lists", "current");
      await put("seen", verdict.event, passKey(lists || {}, verdict.token));
    }
  }

  // Upload what is queued, oldest first, in batches; an item the server refused stays
  // in the queue with its problem for the officer to see and acknowledge.
  async function sync(csrf) {
    const queued = (await all("queue")).filter((item) => item.state === "pending" && mine(item));
    queued.sort((a, b) => a.scanned_at.localeCompare(b.scanned_at));
    let sent = 0;
    for (let start = 0; start < queued.length; start += 200) {
      const chunk = queued.slice(start, start + 200);
      const items = chunk.map(({ state, problem, user_id: _, ...item }) => item);
      let answer;
      try {
        const response = await net.postJson("/api/v1/scans/batch", { items }, csrf, 15000);
        if (!response.ok) return { sent, failed: true };
        answer = await response.json();
      } catch (error) {
        return { sent, failed: true };
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
    const everything = await all("queue");
    const queue = everything.filter(mine);
    // Kept before queues were per officer: whose they are is unknown, so they are shown to
    // be acknowledged (and told to a supervisor), never sent as the signed-in officer's.
    const unowned = everything.filter((i) => i.user_id === undefined)
      .map((i) => ({ ...i, problem: { unowned: true } }));
    const pending = queue.filter((i) => i.state === "pending");
    pending.sort((a, b) => a.scanned_at.localeCompare(b.scanned_at));
    return {
      listsAt: lists ? lists.fetchedAt : null,
      clockOffset: lists ? lists.clockOffset : 0,
      pending: pending.length,
      oldestPending: pending.length ? pending[0].scanned_at : null,
      refused: [...queue.filter((i) => i.state === "refused"), ...unowned],
    };
  }

  const acknowledge = (scanId) => remove("queue", scanId);

  window.ScannerOffline = {
    refreshLists, decide, enqueue, sync, summary, acknowledge, facts, setOwner,
    parseToken: rules.parseToken,
  };
})();
