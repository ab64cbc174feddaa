// The offline scanner's storage on the phone (IndexedDB, database "scanner-offline"): the
// signed lists ("lists"), the queue of scans made offline ("queue", by scan_id) and the
// last event seen of each pass ("seen"). Storage only; no rules.
"use strict";

(() => {
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

  window.ScannerStore = {
    get: (store, key) => request(store, "readonly", (s) => s.get(key)),
    put: (store, value, key) => request(store, "readwrite", (s) => s.put(value, key)),
    remove: (store, key) => request(store, "readwrite", (s) => s.delete(key)),
    all: (store) => request(store, "readonly", (s) => s.getAll()),
  };
})();
