/* 拍照记拜访 on the customer page: once the camera gives a picture, send it; the action form
 * opens with the photo already in it and the contact method set to a visit. */
(function () {
  "use strict";
  var input = document.getElementById("photo-start-file");
  if (!input) return;
  var label = document.querySelector('label[for="photo-start-file"]');
  input.addEventListener("change", function () {
    if (!input.files.length) return;
    // A phone photo can take a while on a slow link: say so, and do not take a second tap.
    if (label) {
      label.textContent = label.dataset.busyLabel || label.textContent;
      label.setAttribute("aria-busy", "true");
      label.classList.add("is-busy");
    }
    input.form.submit();
    input.disabled = true;
  });
})();
