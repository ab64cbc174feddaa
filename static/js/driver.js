// The driver's pass: a ticking clock (a screenshot does not tick), the screen kept awake,
// the page kept for offline use, and no code once the validity has ended by this phone's
// clock.
(() => {
  "use strict";
  const card = document.getElementById("driver-pass");
  if (!card) return;
  const valid = card.dataset.valid === "true";
  const until = Date.parse(card.dataset.validUntil);
  const checkedAt = Date.parse(card.dataset.checkedAt);
  const clock = new Intl.DateTimeFormat(card.dataset.lang, {
    timeZone: card.dataset.timezone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });

  function tick() {
    const now = Date.now();
    const time = document.getElementById("driver-clock");
    if (time) time.textContent = clock.format(now);
    if (valid && now > until) {  // ended while open, or opened offline later
      document.getElementById("driver-code")?.remove();
      document.querySelector(".driver-live")?.remove();
      const expired = document.getElementById("driver-expired");
      if (expired) expired.hidden = false;
      card.classList.replace("driver-valid", "driver-invalid");
    }
    // Offline, or showing a copy older than two minutes: say when it was last checked.
    const stale = !navigator.onLine || now - checkedAt > 120000;
    document.getElementById("driver-offline").hidden = !stale;
    document.getElementById("driver-checked").hidden = stale;
  }
  tick();
  setInterval(tick, 1000);
  window.addEventListener("online", tick);
  window.addEventListener("offline", tick);

  let lock = null;
  async function stayAwake() {
    if (!valid || !("wakeLock" in navigator) || document.visibilityState !== "visible") return;
    try { lock = await navigator.wakeLock.request("screen"); } catch (_e) { lock = null; }
  }
  document.addEventListener("visibilitychange", stayAwake);
  stayAwake();

  // Keep this page for offline use: the worker serves it when the network is gone. The
  // first visit came before the worker, so the page puts itself into the worker's cache.
  if ("serviceWorker" in navigator && window.caches) {
    navigator.serviceWorker.register(card.dataset.sw, { scope: card.dataset.sw.replace(/sw\.js$/, "") })
      .then(() => navigator.onLine && caches.open("driver-v2").then((cache) => cache.add(location.href)))
      .then(() => { card.dataset.offlineReady = "true"; })
      .catch(() => {});
  }
})();
