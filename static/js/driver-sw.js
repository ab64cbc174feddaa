// Keeps each driver's page (and what it needs) on the phone. Pages: the network first,
// briefly, then the copy kept from the last visit; the page itself says how old it is.
// Static files: the kept copy first.
const CACHE = "driver-v1";
const STATIC = ["/static/css/app.css", "/static/js/app.js", "/static/js/driver.js",
  "/static/favicon.svg", "/static/img/icon-192.png"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(STATIC)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
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
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((kept) => kept || fetch(request)));
    return;
  }
  if (!url.pathname.startsWith("/d/")) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await withTimeout(fetch(request), 4000);
      if (response.ok) await cache.put(request, response.clone());
      else if (response.status === 404) await cache.delete(request);
      return response;
    } catch (_error) {
      const kept = await cache.match(request);
      if (kept) return kept;
      throw _error;
    }
  })());
});
