/* The officer's / guard's phone page at a 护学岗 post: check in and out with the
   browser's location. The platform decides (geofence and window) and says why when
   it refuses; the person may then ask for an exception with a note. */
(function () {
  "use strict";

  function csrfToken() {
    var headers = document.body.getAttribute("hx-headers");
    try { return JSON.parse(headers)["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function locate() {
    return new Promise(function (resolve, reject) {
      if (!navigator.geolocation) { reject("unsupported"); return; }
      navigator.geolocation.getCurrentPosition(resolve, function (err) {
        reject(err && err.code === 1 ? "denied" : "unavailable");
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
    });
  }

  function start() {
    var page = document.getElementById("duty");
    if (!page) { return; }
    var msg = page.dataset;

    page.querySelectorAll(".duty-card").forEach(function (card) {
      var state = card.querySelector(".duty-state");
      var checkIn = card.querySelector('[data-action="check-in"]');
      var checkOut = card.querySelector('[data-action="check-out"]');

      function say(text, kind) {
        state.textContent = text;
        state.className = "duty-state" + (kind ? " " + kind : "");
      }

      function send(action, button) {
        var url = action === "check-in" ? card.dataset.checkIn : card.dataset.checkOut;
        button.disabled = true;
        say(msg.msgLocating, "");
        locate().then(function (position) {
          var body = {
            longitude: position.coords.longitude,
            latitude: position.coords.latitude,
            accuracy: position.coords.accuracy,
            note: card.querySelector("[data-note]").value,
            exception: card.querySelector("[data-exception]").checked
          };
          return fetch(url, {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
            body: JSON.stringify(body)
          }).then(function (response) {
            return response.json().then(function (data) { return { ok: response.ok, data: data }; });
          });
        }).then(function (result) {
          if (result.ok) {
            var text = action === "check-in" ? msg.msgCheckedIn : msg.msgCheckedOut;
            if (result.data.exception) { text += " " + msg.msgException; }
            say(text, "ok");
            checkIn.hidden = true;
            checkOut.hidden = action !== "check-in";
            card.dataset.done = action;
          } else {
            say(msg.msgRefused + " " + (result.data.reasons || []).join("; "), "bad");
          }
        }).catch(function (reason) {
          if (reason === "denied") { say(msg.msgDenied, "bad"); }
          else if (reason === "unsupported" || reason === "unavailable") { say(msg.msgNoLocation, "bad"); }
          else { say(msg.msgFailed, "bad"); }
        }).then(function () { button.disabled = false; });
      }

      checkIn.addEventListener("click", function () { send("check-in", checkIn); });
      checkOut.addEventListener("click", function () { send("check-out", checkOut); });
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
