/* SalesTrace service worker (version {{ version }}): pages opened with signal are kept, so the route,
 * the check-in and the action form open without it; the queue of unsent forms is offline.js's. */
"use strict";
var VERSION = "{{ version }}";
var SHELL_CACHE = "shell-" + VERSION;
var PAGES_CACHE = "pages";
var SHELL = {{ shell|safe }};
var OFFLINE = "{{ offline|escapejs }}";
var STATIC_PREFIX = "{{ static_prefix|escapejs }}";
var NEVER = ["/api/", "/admin/", "/calendar/", "/login", "/logout", "/i18n/", "/sw.js"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL_CACHE).then(function (cache) { return cache.addAll(SHELL.concat([OFFLINE])); }));
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("shell-") === 0 && name !== SHELL_CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (NEVER.some(function (prefix) { return url.pathname.indexOf(prefix) === 0; })) return;
  if (request.mode === "navigate") {
    // The network first (the page as it is now), kept for later; without signal, the kept copy.
    event.respondWith(
      fetch(request).then(function (response) {
        if (response.ok && !response.redirected && response.type === "basic") {
          var copy = response.clone();
          caches.open(PAGES_CACHE).then(function (cache) { cache.put(request, copy); });
        }
        return response;
      }, function () {
        return caches.match(request).then(function (kept) { return kept || caches.match(OFFLINE); });
      })
    );
    return;
  }
  if (url.pathname.indexOf(STATIC_PREFIX) === 0) {
    event.respondWith(
      caches.match(request).then(function (kept) {
        return kept || fetch(request).then(function (response) {
          if (response.ok) {
            var copy = response.clone();
            caches.open(SHELL_CACHE).then(function (cache) { cache.put(request, copy); });
          }
          return response;
        });
      })
    );
  }
});
