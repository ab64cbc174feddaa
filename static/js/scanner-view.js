// What the scanner page shows besides the verdict: the last scans at this checkpoint and
// the network line (online or not, the lists' age, what waits, what the server refused).
// Drawing only; the controller (scanner.js) fetches and decides.
"use strict";

(() => {
  // history(list, items, text, time): scans newest first. The annulled scan is struck
  // through and the annulment says why; an offline scan shows the phone's time, marked.
  function history(list, items, text, time) {
    list.replaceChildren();
    const annulled = new Set(items.filter((s) => s.annuls_id).map((s) => s.annuls_id));
    for (const scan of items) {
      const item = document.createElement("li");
      let label;
      if (scan.event === "annul") {
        label = `${text.annulled}: ${text.annul_reasons[scan.reasons[0]] || ""}`;
      } else if (scan.reasons.includes("repeat")) {
        label = text.repeat_short;
      } else {
        label = `${scan.decision === "allow" ? text.allow : text.deny} ${scan.event !== "none" ? text[scan.event] : ""}`;
      }
      item.className = `${scan.event === "annul" ? "annul" : scan.decision}${annulled.has(scan.id) ? " struck" : ""}`;
      const at = time(scan.offline ? scan.scanned_at : scan.recorded_at);
      item.textContent = `${at} · ${scan.plate || "—"} · ${label}${scan.offline ? ` · ${text.offline_mark}` : ""}`;
      list.append(item);
    }
  }

  const minutesAgo = (at) => Math.max(0, Math.round((Date.now() - at) / 60000));

  // network({line, clock, refused}, state, {online, maxAgeMs, text, time, acknowledge})
  function network(els, state, { online, maxAgeMs, text, time, acknowledge }) {
    const parts = [online ? text.online : text.offline];
    parts.push(state.listsAt === null ? text.no_lists
      : text.lists_age.replace("{n}", minutesAgo(state.listsAt)));
    if (state.pending) parts.push(text.queued.replace("{n}", state.pending));
    els.line.textContent = parts.join(" · ");
    const stale = state.listsAt === null || Date.now() - state.listsAt > maxAgeMs;
    els.line.className = `net-status ${online ? "net-online" : "net-offline"}${stale ? " net-stale" : ""}`;
    const skew = Math.abs(state.clockOffset);
    els.clock.hidden = skew <= 5 * 60000;
    els.clock.textContent = text.clock_off.replace("{n}", Math.round(skew / 60000));
    els.refused.replaceChildren();
    for (const item of state.refused) {
      const row = document.createElement("li");
      const why = item.problem.unowned ? text.unowned
        : item.problem.detail || Object.values(item.problem.errors || {}).flat().join(" ") || item.problem.title;
      const label = item.problem.unowned ? "" : `${text.refused} `;
      row.textContent = `${time(item.scanned_at)} · ${label}${why} `;
      const ok = document.createElement("button");
      ok.type = "button";
      ok.className = "button small";
      ok.textContent = text.acknowledge;
      ok.addEventListener("click", () => acknowledge(item.scan_id));
      row.append(ok);
      els.refused.append(row);
    }
    els.refused.hidden = state.refused.length === 0;
  }

  // issuer(dd, pass, asked): the issuing jurisdiction's name (and, for a peer's number
  // typed by hand, whether it could be asked), its row hidden when not known (an offline
  // verdict on one of our own codes knows only what the token carries).
  function issuer(dd, pass, asked) {
    const known = Boolean(pass && pass.issuer && pass.issuer.name);
    dd.textContent = known ? `${pass.issuer.name}${asked ? ` · ${asked}` : ""}` : "";
    dd.hidden = !known;
    dd.previousElementSibling.hidden = !known;
  }

  // lane(band, data, text): at a gate, the lane an allowed truck takes, in large words
  // (priority: the green channel, or a booked truck), and how it met its booked hour.
  function lane(band, data, text) {
    band.hidden = !data.lane;
    band.className = `lane-band lane-${data.lane || "none"}`;
    const booked = data.booking ? ` · ${text.timing[data.booking.timing] || ""}` : "";
    band.textContent = data.lane ? `${text.lanes[data.lane]}${booked}` : "";
  }

  window.ScannerView = { history, network, issuer, lane };
})();
