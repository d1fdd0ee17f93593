/* Page behaviour shared by every page: tidy htmx query strings, print buttons. */
(function () {
  "use strict";

  // Filter forms send every field; drop the empty ones so pushed URLs stay readable
  // (the server treats a missing and an empty parameter the same).
  document.addEventListener("htmx:configRequest", function (event) {
    var params = event.detail.parameters;
    var empty = [];
    params.forEach(function (value, key) {
      if (value === "") { empty.push(key); }
    });
    empty.forEach(function (key) { delete params[key]; });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) { window.print(); }
  });

  // A select marked data-autosubmit submits its plain GET form (rule switches).
  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) { select.form.requestSubmit(); }
  });
})();
