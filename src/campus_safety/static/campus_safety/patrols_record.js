/* The officer's patrol on the phone (网格巡逻): Start watches the phone's position
   (navigator.geolocation.watchPosition) and keeps every point — [longitude, latitude,
   ISO time] — in localStorage, so a reload, a lock screen or a lost connection loses
   nothing; Stop fills the form's hidden fields and sends it. The stored patrol is
   dropped only when the platform confirms it (the page comes back with ?recorded=<its
   event id>); until then it can be sent again, and its one-off event id makes the
   platform store it once. */
(function () {
  "use strict";

  var MAX_POINTS = 20000;     // the platform's limit (patrols/serializers.py clean_path)
  var MIN_STEP_M = 5;         // closer than this to the last point: the same place …
  var MIN_STEP_S = 30;        // … unless this long has passed
  var MAX_ACCURACY_M = 200;   // a fix vaguer than this would draw a false track

  function metres(a, b) {
    var rad = Math.PI / 180, dLat = (b[1] - a[1]) * rad, dLon = (b[0] - a[0]) * rad;
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
    return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
  }

  function start() {
    var page = document.getElementById("patrol-record");
    if (!page) { return; }
    var msg = page.dataset;
    var form = document.getElementById("patrol-form");
    var key = "campus-safety.patrol." + page.dataset.user;
    var buttons = {
      start: document.getElementById("patrol-start"),
      stop: document.getElementById("patrol-stop"),
      resend: document.getElementById("patrol-resend"),
      discard: document.getElementById("patrol-discard")
    };
    var state = document.getElementById("patrol-state");
    var watchId = null;

    function load() {
      try { return JSON.parse(window.localStorage.getItem(key)); } catch (e) { return null; }
    }
    function save(patrol) { window.localStorage.setItem(key, JSON.stringify(patrol)); }
    function say(text, kind) {
      state.textContent = text;
      state.className = "duty-state" + (kind ? " " + kind : "");
    }

    // The platform confirmed this patrol: it no longer needs keeping here.
    var stored = load();
    if (stored && msg.recorded && stored.eventId === msg.recorded) {
      window.localStorage.removeItem(key);
      stored = null;
    }
    var patrol = stored;

    function length(track) {
      var total = 0;
      for (var i = 1; i < track.length; i++) { total += metres(track[i - 1], track[i]); }
      return total;
    }

    function show() {
      var track = patrol ? patrol.track : [];
      document.getElementById("patrol-points").textContent = String(track.length);
      document.getElementById("patrol-distance").textContent = (length(track) / 1000).toFixed(2);
      document.getElementById("patrol-started").textContent = patrol ?
        new Date(patrol.startedAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "—";
      buttons.start.hidden = !!patrol;
      buttons.stop.hidden = !patrol || !!patrol.endedAt;
      buttons.resend.hidden = !patrol || !patrol.endedAt;
      buttons.discard.hidden = !patrol || !patrol.endedAt;  // e.g. a track the platform refuses
      form.elements.route.disabled = !!(patrol && patrol.endedAt);
    }

    function add(position) {
      if (!patrol || patrol.endedAt) { return; }
      var c = position.coords;
      if (c.accuracy && c.accuracy > MAX_ACCURACY_M) { return; }
      var point = [Math.round(c.longitude * 1e6) / 1e6, Math.round(c.latitude * 1e6) / 1e6,
        new Date(position.timestamp || Date.now()).toISOString()];
      var last = patrol.track[patrol.track.length - 1];
      if (last && metres(last, point) < MIN_STEP_M &&
          Date.parse(point[2]) - Date.parse(last[2]) < MIN_STEP_S * 1000) { return; }
      if (patrol.track.length >= MAX_POINTS) { return; }
      patrol.track.push(point);
      save(patrol);
      say(msg.msgRecording, "ok");
      show();
    }

    function failed(error) {
      say(error && error.code === 1 ? msg.msgDenied : msg.msgNoLocation, "bad");
    }

    function watch() {
      if (!navigator.geolocation) { failed(null); return; }
      watchId = navigator.geolocation.watchPosition(add, failed,
        { enableHighAccuracy: true, maximumAge: 0, timeout: 60000 });
    }

    function send() {
      form.elements.event_id.value = patrol.eventId;
      form.elements.started_at.value = patrol.startedAt;
      form.elements.ended_at.value = patrol.endedAt;
      form.elements.track.value = JSON.stringify(patrol.track);
      if (patrol.route !== undefined) { form.elements.route.value = patrol.route; }
      form.elements.route.disabled = false;  // a disabled select is not sent
      buttons.stop.disabled = buttons.resend.disabled = true;
      say(msg.msgSending, "");
      form.submit();
    }

    buttons.start.addEventListener("click", function () {
      patrol = {
        eventId: form.elements.event_id.value,
        startedAt: new Date().toISOString(),
        route: form.elements.route.value,
        track: []
      };
      save(patrol);
      say(msg.msgLocating, "");
      show();
      watch();
    });

    buttons.stop.addEventListener("click", function () {
      if (!patrol.track.length) { say(msg.msgNoPoints, "bad"); return; }
      if (watchId !== null) { navigator.geolocation.clearWatch(watchId); watchId = null; }
      patrol.endedAt = new Date().toISOString();
      patrol.route = form.elements.route.value;
      save(patrol);
      send();
    });

    buttons.resend.addEventListener("click", send);

    buttons.discard.addEventListener("click", function () {
      if (!window.confirm(buttons.discard.dataset.confirm)) { return; }
      window.localStorage.removeItem(key);
      patrol = null;
      say(msg.msgIdle, "");
      show();
    });

    form.elements.route.addEventListener("change", function () {
      if (patrol && !patrol.endedAt) { patrol.route = form.elements.route.value; save(patrol); }
    });

    if (patrol && patrol.endedAt) {
      say(msg.msgUnsent, "bad");
    } else if (patrol) {
      if (patrol.route !== undefined) { form.elements.route.value = patrol.route; }
      say(msg.msgResumed, "ok");
      watch();
    } else if (!document.getElementById("patrol-errors")) {
      say(msg.msgIdle, "");
    }
    show();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
