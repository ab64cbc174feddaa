// Shared by the service workers (importScripts): one cache per worker, filled with the
// files its page needs at install; answers from the network first, briefly, so an update
// arrives on the next online load, and from the kept copy when the network does not answer.
self.offlineKit = {
  install(cacheName, shell) {
    self.addEventListener("install", (event) => {
      event.waitUntil(caches.open(cacheName).then((cache) => cache.addAll(shell))
        .then(() => self.skipWaiting()));
    });
    self.addEventListener("activate", (event) => {
      // Older versions of this worker's cache only: other workers keep theirs.
      const family = cacheName.replace(/-v\d+$/, "-");
      event.waitUntil((async () => {
        for (const name of await caches.keys()) {
          if (name.startsWith(family) && name !== cacheName) await caches.delete(name);
        }
        await self.clients.claim();
      })());
    });
  },

  async networkFirst(cacheName, request, ms, forgetOn404 = false) {
    const cache = await caches.open(cacheName);
    // A race, not fetch(request, {signal}): a navigation request takes no init everywhere.
    let timer;
    const late = new Promise((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error("timeout")), ms);
    });
    try {
      const response = await Promise.race([fetch(request), late]);
      if (response.ok && !response.redirected) await cache.put(request, response.clone());
      else if (forgetOn404 && response.status === 404) await cache.delete(request);
      return response;
    } catch (error) {
      const statics = new URL(request.url).pathname.startsWith("/static/");
      const kept = await cache.match(request, { ignoreSearch: statics });
      if (kept) return kept;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  },
};
