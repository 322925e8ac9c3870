/* 拍照记拜访 on the customer page: once the camera gives a picture, send it; the action form
 * opens with the photo already in it and the contact method set to a visit. */
(function () {
  "use strict";
  var input = document.getElementById("photo-start-file");
  if (!input) return;
  input.addEventListener("change", function () {
    if (input.files.length) input.form.submit();
  });
})();
