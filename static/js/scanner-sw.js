// Keeps the scanner (page, scripts, styles, the WebAssembly decoder) on the phone so it
// opens with no network after one online visit. The API is not touched here: the page
// itself decides offline and queues (offline.js).
importScripts("/static/js/sw-common.js");
const CACHE = "scanner-v5"; // scanner.js puts the page into this same cache: change both
offlineKit.install(CACHE, [
  "/static/css/app.css",
  "/static/js/app.js",
  "/static/js/net.js",
  "/static/js/store.js",
  "/static/js/rules.js",
  "/static/js/offline.js",
  "/static/js/camera.js",
  "/static/js/scanner-view.js",
  "/static/js/scanner.js",
  "/static/vendor/zxing-wasm-3.1.4/zxing-reader.js",
  "/static/vendor/zxing-wasm-3.1.4/zxing_reader.wasm",
  "/static/favicon.svg",
]);

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === "/scan" || url.pathname.startsWith("/static/")) {
    event.respondWith(offlineKit.networkFirst(CACHE, request, 3000));
  }
});
