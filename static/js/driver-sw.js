// Keeps each driver's page (and what it needs) on the phone: the network first, briefly,
// then the copy kept from the last visit; the page itself says how old it is.
importScripts("/static/js/sw-common.js");
const CACHE = "driver-v2";
offlineKit.install(CACHE, ["/static/css/app.css", "/static/js/app.js", "/static/js/driver.js",
  "/static/favicon.svg", "/static/img/icon-192.png"]);

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(offlineKit.networkFirst(CACHE, request, 3000));
  } else if (url.pathname.startsWith("/d/")) {
    event.respondWith(offlineKit.networkFirst(CACHE, request, 4000, true));
  }
});
