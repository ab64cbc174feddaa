// The offline scanner's rules, as far as a phone can know them (docs/architecture.md,
// "Offline scanning"): the pass token's format (trust/tokens.py), the plate as typed
// (fleet/domain.py), and the verdict, a pure function of the token, the kept lists, what
// was typed and the time (checkpoints/domain.py). No storage, no network, no camera:
// a test page calls these directly.
"use strict";

(() => {
  const ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const SKEW = 5 * 60 * 1000; // as the server's CLOCK_SKEW
  const DOMAINS = { 1: new TextEncoder().encode("TP1"), 2: new TextEncoder().encode("TP2") };
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  // fleet.domain.PROVINCES and PLATE_NOISE (a test holds these copies to those):
  // a plate typed without its province is tried with each.
  const PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
  const PLATE_NOISE = /[\s·•.\-]/g;

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

  // Version 2 names its issuer (a 6-digit area code in 3 bytes) before the key id;
  // version 1 (codes issued before federation) names none and is ours.
  function parseToken(text) {
    const match = /\/P\/([A-Z2-7]+)\s*$/i.exec(text || "");
    const data = match && base32(match[1]);
    // Version 2: the issuer's 3 bytes, then a 4-byte pass id (version 1: 8 bytes).
    const v2 = Boolean(data) && data[0] === 2;
    const at = v2 ? -1 : 0; // where the times and plate sit relative to version 1
    const head = v2 ? 4 : 1; // where the key id sits
    if (!data || !DOMAINS[data[0]] || data.length < 19 + at + 64) return null;
    const view = new DataView(data.buffer);
    const area = v2 ? (data[1] << 16) | (data[2] << 8) | data[3] : null;
    if (area !== null && area > 999999) return null;
    const plateLength = data[18 + at];
    const bodyLength = 19 + at + plateLength;
    if (data.length !== bodyLength + 64) return null;
    let plate;
    try {
      plate = new TextDecoder("utf-8", { fatal: true }).decode(data.slice(19 + at, bodyLength));
    } catch (error) {
      return null;
    }
    return {
      issuer: area === null ? null : String(area).padStart(6, "0"),
      kid: String(data[head]),
      passId: v2 ? view.getUint32(5) : Number(view.getBigUint64(2)),
      validFrom: view.getUint32(10 + at) * 60000,
      validUntil: view.getUint32(14 + at) * 60000,
      plate,
      body: data.slice(0, bodyLength),
      signature: data.slice(bodyLength),
    };
  }

  // The bytes the token's signature covers, and whether its S is the high twin (refused:
  // one code per pass).
  function signedBytes(token) {
    const domain = DOMAINS[token.body[0]];
    const signed = new Uint8Array(domain.length + token.body.length);
    signed.set(domain);
    signed.set(token.body, domain.length);
    return signed;
  }
  function highS(signature) {
    const hex = [...signature.slice(32)].map((b) => b.toString(16).padStart(2, "0")).join("");
    return BigInt(`0x${hex}`) > ORDER / 2n;
  }

  const cleanPlate = (plate) => (plate || "").replace(PLATE_NOISE, "").toUpperCase();
  // The plates a typed plate may be: itself, or with each province before it.
  function plateCandidates(plate) {
    const typed = cleanPlate(plate);
    return /^[A-Z]/.test(typed) ? [...PROVINCES].map((p) => p + typed) : [typed];
  }

  const deny = (reason, token) => ({ decision: "deny", event: null, reasons: [reason], token });

  // checkpoints/bookings.py: an hour, how early still keeps it, how far off still finds it
  const SLOT = 3600000;
  const EARLY = 15 * 60000;
  const MATCH = 12 * SLOT;

  // At a gate, the lane and the booked hour an allowed truck keeps (as scan_answer.py):
  // priority for the green channel's cargo and for a truck entering on its booking.
  function laneOf(item, event, checkpointId, now) {
    const b = item && item.booking;
    const start = b && b.checkpoint_id === checkpointId ? Date.parse(b.slot_start) : null;
    const kept = event === "entry" && start !== null && now >= start - MATCH && now <= start + SLOT + MATCH;
    const timing = now < start - EARLY ? "early" : now > start + SLOT ? "late" : "on_time";
    const priority = kept || Boolean(item && item.category === "emergency");
    return { lane: priority ? "priority" : "normal", booking: kept ? { slot_start: b.slot_start, timing } : null };
  }

  // The verdict on a token the phone trusts (signature checked, or found in the kept list
  // by number and plate): `revokedUntil` from the revocation list, `seen` the last event
  // this phone recorded for the pass, `now` the server's time as the phone reckons it,
  // `wallNow` the phone's own (for the lists' age); `item` what the kept list of live
  // passes says of it (stations, the crew's listing, its booked hour, its category), null
  // when the list does not carry it (then the server judges those on upload).
  function judge({ token, revokedUntil, seen, kind, direction, now, fetchedAt, wallNow, maxAgeMs,
    item = null, checkpointId = null, crewsRequired = false }) {
    const problems = [];
    if (revokedUntil && revokedUntil > now) problems.push("revoked");
    else if (now > token.validUntil + SKEW) problems.push("expired");
    else if (now < token.validFrom - SKEW) problems.push("not_yet_valid");
    let event = kind === "station" ? "stop" : "arrival";
    if (kind === "gate") event = direction || (seen === "entry" ? "exit" : "entry");
    const stale = wallNow - fetchedAt > maxAgeMs;
    const refuse = (reason) => ({ ...deny(reason, token), stale });
    const stations = (item && item.stations) || [];
    if (event === "stop" && stations.length && !stations.includes(checkpointId)) return refuse("not_designated");
    // Exit (and a crew's stop) is allowed even late or revoked; the reasons inform.
    if (event !== "exit" && event !== "stop" && problems.length) return refuse(problems[0]);
    const listed = item && item.crew_listed_until && Date.parse(item.crew_listed_until) >= now;
    if (event === "entry" && crewsRequired && item && !listed) return refuse("driver_not_whitelisted");
    const lane = kind === "gate" ? laneOf(item, event, checkpointId, now) : {};
    return { decision: "allow", event, reasons: problems, token, stale, ...lane };
  }

  window.ScannerRules = {
    PROVINCES, PLATE_NOISE, SKEW, canonical, b64url, base32, parseToken, signedBytes, highS,
    cleanPlate, plateCandidates, deny, judge,
  };
})();
