// Copy buttons: <button data-copy="INPUT_ID" data-copied="message" hidden>. Without
// JavaScript the button stays hidden and the read-only input can be selected and copied
// by hand; with it, one tap copies and the status line (INPUT_ID-status) says so.
(function () {
  "use strict";
  function copy(input) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(input.value);
    }
    input.focus();
    input.select();
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject();
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) {
      return;
    }
    var status = document.getElementById(input.id + "-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      copy(input).then(function () {
        if (status) {
          status.textContent = button.getAttribute("data-copied");
        }
      }, function () {
        input.focus();
        input.select();
      });
    });
  });
})();
