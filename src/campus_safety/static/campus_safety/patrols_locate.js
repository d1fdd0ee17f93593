/* "Use my phone's location" on the patrol forms (a field stop, a gate post): fills the
   form's longitude and latitude from the browser's Geolocation API and says where the
   phone is, or why it cannot tell. A button marked data-auto asks once on page load. */
(function () {
  "use strict";

  function locate(button) {
    var status = document.querySelector("[data-locate-status]");
    var lon = document.getElementById(button.dataset.longitude);
    var lat = document.getElementById(button.dataset.latitude);
    function say(text) { if (status) { status.textContent = text; } }
    if (!navigator.geolocation) { say(button.dataset.unsupported); return; }
    say(button.dataset.locating);
    navigator.geolocation.getCurrentPosition(function (position) {
      var c = position.coords;
      lon.value = c.longitude.toFixed(6);
      lat.value = c.latitude.toFixed(6);
      say(c.latitude.toFixed(6) + ", " + c.longitude.toFixed(6) +
        (c.accuracy ? " (±" + Math.round(c.accuracy) + " m)" : ""));
    }, function () { say(button.dataset.failed); },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-locate]");
    if (button) { locate(button); }
  });

  function start() {
    document.querySelectorAll("[data-locate][data-auto]").forEach(function (button) {
      var lon = document.getElementById(button.dataset.longitude);
      if (lon && !lon.value) { locate(button); }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
