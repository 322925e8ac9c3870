/* Offline capture: forms marked data-offline-label (the action form, the check-in) keep working
 * without signal.
 *
 * A submit is sent with fetch; when the phone is offline, or the request cannot reach the server,
 * the form's fields and files (photos as Blobs) are kept in IndexedDB with the time they were
 * made, and sent again, oldest first, when the signal is back (the "online" event, each page load,
 * every 30 s, or the 立即同步 button). Every form carries its own idempotency key (a hidden field the
 * server already honours), so a resend that crosses a slow answer never makes a second record.
 * What is still queued, and anything the server refused, is listed in the banner at the top.
 * Entries belong to the person who made them: another login on the same phone does not send them.
 */
(function () {
  "use strict";
  var DB = "salestrace-offline";
  var STORE = "outbox";
  // A page rendered over this one (document.write of the server's answer) runs this file again:
  // the state that must stay single (the sync lock, the timer) lives on the window.
  var state = window.__stOffline || (window.__stOffline = { syncing: false, timer: 0 });
  var user = document.body.dataset.user || "";
  function banner() { return document.getElementById("offline-queue"); }

  function open() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function run(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }

  function all() { return run("readonly", function (store) { return store.getAll(); }); }
  function put(entry) { return run("readwrite", function (store) { return store.put(entry); }); }
  function remove(id) { return run("readwrite", function (store) { return store.delete(id); }); }

  function text(name) {
    var root = banner();
    return (root && root.dataset[name]) || "";
  }

  function entriesOf(form) {
    var fields = [];
    new FormData(form).forEach(function (value, name) {
      if (value instanceof File) {
        if (value.size) fields.push({ name: name, blob: value, filename: value.name, type: value.type });
      } else {
        fields.push({ name: name, value: value });
      }
    });
    return fields;
  }

  function formDataOf(entry) {
    var data = new FormData();
    entry.fields.forEach(function (field) {
      if (field.blob) data.append(field.name, field.blob, field.filename || "photo.jpg");
      else data.append(field.name, field.value);
    });
    return data;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localStamp(date) {
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " +
      pad(date.getHours()) + ":" + pad(date.getMinutes());
  }

  function queue(form) {
    var entry = {
      user: user,
      url: form.getAttribute("action") || window.location.pathname,
      label: form.dataset.offlineLabel || document.title,
      queuedAt: new Date().toISOString(),
      fields: entriesOf(form),
      error: "",
    };
    return put(entry).then(function () {
      show();
      var saved = document.getElementById("offline-saved");
      if (saved) {
        saved.hidden = false;
        saved.focus();
      }
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
        button.removeAttribute("aria-busy");
      }
    });
  }

  var FETCH = { "X-SalesTrace-Fetch": "1" };

  function target(response) {
    // Where the server sends the browser after a save (core.middleware.FetchRedirectMiddleware).
    return response.status === 204 ? response.headers.get("X-SalesTrace-Location") : null;
  }

  function signedOut(response) {
    var where = target(response) || (response.redirected ? response.url : "");
    return Boolean(where) && new URL(where, window.location.href).pathname.indexOf("/login") === 0;
  }

  function render(response) {
    // A refusal: the server's page with the form and its messages, as if the browser had posted it.
    return response.text().then(function (html) {
      document.open();
      document.write(html);
      document.close();
    });
  }

  /* Send a form now, or keep it for later when there is no signal. */
  function send(form) {
    if (!navigator.onLine) return queue(form);
    var data = new FormData(form);
    return fetch(form.getAttribute("action") || window.location.pathname, {
      method: "POST", body: data, credentials: "same-origin", headers: FETCH,
    }).then(function (response) {
      var where = target(response);
      if (signedOut(response)) return queue(form).then(function () { window.location.assign(where || response.url); });
      if (where) { window.location.assign(where); return; }
      if (response.redirected) { window.location.assign(response.url); return; }
      return render(response);
    }, function () {
      return queue(form);
    });
  }

  function refusal(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var found = doc.querySelectorAll(".errorlist li, .field-error, .form-errors strong");
    var parts = Array.prototype.map.call(found, function (node) { return node.textContent.trim(); });
    return parts.filter(Boolean).join("；") || text("refused");
  }

  /* Send what is queued, oldest first; stop at the first that cannot reach the server. */
  function sync() {
    if (state.syncing || !navigator.onLine) return Promise.resolve();
    state.syncing = true;
    return all().then(function (entries) {
      var mine = entries.filter(function (e) { return e.user === user && !e.error; });
      return mine.reduce(function (chain, entry) {
        return chain.then(function (stop) {
          if (stop) return true;
          return fetch(entry.url, { method: "POST", body: formDataOf(entry), credentials: "same-origin", headers: FETCH })
            .then(function (response) {
              if (signedOut(response)) return true;
              if (target(response)) return remove(entry.id).then(function () { return false; });
              if (response.status >= 500) return true;
              return response.text().then(function (html) {
                entry.error = refusal(html);
                return put(entry).then(function () { return false; });
              });
            }, function () { return true; });
        });
      }, Promise.resolve(false));
    }).then(function () { state.syncing = false; return show(); }, function () { state.syncing = false; });
  }

  function show() {
    var root = banner();
    if (!root) return Promise.resolve();
    return all().then(function (entries) {
      var mine = entries.filter(function (e) { return e.user === user; });
      root.hidden = mine.length === 0;
      var count = root.querySelector("[data-count]");
      if (count) count.textContent = text("pending").replace("%s", String(mine.length));
      var list = root.querySelector("ul");
      if (!list) return;
      list.textContent = "";
      mine.forEach(function (entry) {
        var item = document.createElement("li");
        item.textContent = entry.label + " · " + localStamp(new Date(entry.queuedAt));
        if (entry.error) {
          var why = document.createElement("strong");
          why.textContent = " " + text("refusedPrefix") + entry.error;
          item.appendChild(why);
          var drop = document.createElement("button");
          drop.type = "button";
          drop.className = "link-button";
          drop.textContent = text("discard");
          drop.addEventListener("click", function () { remove(entry.id).then(show); });
          item.appendChild(drop);
        } else if (entry.fields.some(function (f) { return f.blob; })) {
          item.appendChild(document.createTextNode(" · " + text("withPhoto")));
        }
        list.appendChild(item);
      });
    });
  }

  if (!("indexedDB" in window)) return;
  window.stOffline = { send: send, sync: sync, show: show };

  // Each showing of a form gets its own idempotency key: a page kept by the service worker is shown
  // again and again without signal, and two visits made from it must not count as one. A retry of
  // the same entry keeps its key (it is stored with the entry), so a resend is still the same record.
  function freshKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID().replace(/-/g, "");
    var hex = "";
    for (var i = 0; i < 32; i++) hex += Math.floor(Math.random() * 16).toString(16);
    return hex;
  }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-offline-label]"), function (form) {
    ["idempotency_key", "key"].forEach(function (name) {
      var field = form.elements[name];
      if (field && field.type === "hidden") field.value = freshKey();
    });
    // A kept page opened later says "now" as of when it was kept: until the rep changes it, the
    // entry's time is the phone's now (its shortcuts, 30 分钟前 …, count from it too).
    var occurred = form.elements.occurred_at;
    var offset = parseInt(form.dataset.utcOffset, 10);
    if (occurred && occurred.type === "datetime-local" && !isNaN(offset) && occurred.value === form.dataset.serverNow) {
      // The site's wall clock (Asia/Shanghai), whatever zone the phone is set to.
      var now = new Date(Date.now() + offset * 60000);
      var stamp = now.getUTCFullYear() + "-" + pad(now.getUTCMonth() + 1) + "-" + pad(now.getUTCDate()) + "T" +
        pad(now.getUTCHours()) + ":" + pad(now.getUTCMinutes());
      occurred.value = stamp;
      form.dataset.serverNow = stamp;
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-offline-label")) return;
    if (event.defaultPrevented) return;  // a check in the page refused it (a rule, or the location is being asked)
    event.preventDefault();
    send(form);
  });
  var button = banner() && banner().querySelector("[data-sync]");
  if (button) button.addEventListener("click", function () { sync(); });
  window.addEventListener("online", function () { sync(); });
  window.addEventListener("offline", show);
  clearInterval(state.timer);
  state.timer = setInterval(sync, 30000);
  show().then(sync);

  // Pages opened while online are kept by the service worker, so the forms open without signal too.
  if ("serviceWorker" in navigator && document.body.dataset.serviceWorker) {
    navigator.serviceWorker.register(document.body.dataset.serviceWorker, { scope: "/" }).catch(function () {});
  }
  if (document.body.dataset.signedOut && window.caches) {
    // Signed out: the pages kept for offline use hold customer data; drop them (the queue stays).
    caches.keys().then(function (names) { names.forEach(function (name) { caches.delete(name); }); });
  }
})();
