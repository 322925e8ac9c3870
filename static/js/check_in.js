/* 签到 / 签退: ask the phone for its position when the rep taps, fill the hidden fields, then
 * send the form. A denied or unavailable position still sends it (the server flags it), so a rep
 * is never stuck at the door; a position older than a minute is not reused. Without signal the
 * form is kept on the phone and sent later (offline.js), with the time of the tap. */
(function () {
  "use strict";
  var forms = document.querySelectorAll("form.locate-form");
  Array.prototype.forEach.call(forms, function (form) {
    var sent = false;
    form.addEventListener("submit", function (event) {
      if (sent) return;
      event.preventDefault();
      // The moment of the tap: kept when the check-in waits offline for the signal.
      if (form.elements.occurred_at) form.elements.occurred_at.value = new Date().toISOString();
      var status = document.getElementById("location-status");
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
        if (button.dataset.busyLabel) button.textContent = button.dataset.busyLabel;
      }
      function send() {
        sent = true;
        if (button) button.disabled = false;
        if (window.stOffline && form.hasAttribute("data-offline-label")) window.stOffline.send(form);
        else HTMLFormElement.prototype.submit.call(form);
        if (button) button.disabled = true;
      }
      if (!("geolocation" in navigator)) {
        if (status) status.textContent = status.dataset.denied;
        send();
        return;
      }
      if (status) status.textContent = status.dataset.asking;
      navigator.geolocation.getCurrentPosition(
        function (position) {
          form.elements.latitude.value = position.coords.latitude.toFixed(6);
          form.elements.longitude.value = position.coords.longitude.toFixed(6);
          if (form.elements.accuracy) form.elements.accuracy.value = Math.round(position.coords.accuracy);
          if (status) status.textContent = status.dataset.found.replace("%s", Math.round(position.coords.accuracy));
          send();
        },
        function () {
          if (status) status.textContent = status.dataset.denied;
          send();
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
  });
})();
