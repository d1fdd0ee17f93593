/* Page behaviour shared by every page: tidy htmx query strings, print buttons, a main
   menu longer than the top bar has room for. */
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

  // The police's and the city's menus (up to 15 pages) do not fit beside the brand and
  // the tools on a 1440 px screen: rather than scroll the last items (often the page
  // itself) out of sight, the menu takes a row of its own (as it does under 900 px).
  var bar = document.querySelector(".topbar");
  var nav = bar && bar.querySelector(".mainnav");
  if (nav) {
    var fitMenu = function () {
      bar.classList.remove("long-menu");
      if (nav.scrollWidth > nav.clientWidth + 1) { bar.classList.add("long-menu"); }
      // what sticks under the bar (the alarm banner) and fills the window (maps) follow it
      document.documentElement.style.setProperty("--topbar-h", bar.offsetHeight + "px");
    };
    fitMenu();
    window.addEventListener("resize", fitMenu);
  }
})();
