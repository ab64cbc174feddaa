// Keeps the scanner (page, scripts, styles, the WebAssembly decoder) on the phone so it
// opens with no network after one online visit. Network first, briefly, so an update is
// picked up on the next online load; the kept copy when the network does not answer.
// The API is not touched here: the page itself decides offline and queues (offline.js).
const CACHE = "scanner-v1";
const SHELL = [
  "/static/css/app.css",
  "/static/js/app.js",
  "/static/js/offline.js",
  "/static/js/scanner.js",
  "/static/vendor/zxing-wasm-3.1.4/zxing-reader.js",
  "/static/vendor/zxing-wasm-3.1.4/zxing_reader.wasm",
  "/static/favicon.svg",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("scanner-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((value) => { clearTimeout(timer); resolve(value); },
                 (error) => { clearTimeout(timer); reject(error); });
  });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (!(url.pathname === "/scan" || url.pathname.startsWith("/static/"))) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await withTimeout(fetch(request), 3000);
      if (response.ok && !response.redirected) await cache.put(request, response.clone());
      return response;
    } catch (error) {
      const kept = await cache.match(request, { ignoreSearch: url.pathname.startsWith("/static/") });
      if (kept) return kept;
      throw error;
    }
  })());
});
