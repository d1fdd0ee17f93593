/* The alarm console.
 *
 * On every page of a user who may read alarms (base.html loads it after live.js):
 *   - the unacknowledged-alarm banner (#alarm-banner), one line whatever the count (how
 *     many, the case to look at first, a link to the wall), fed by
 *     /alarms/unacknowledged.json, refreshed the moment the live stream says an alarm
 *     case changed; it stays until a person acknowledges every case (hidden on the wall,
 *     which lists them all, where it still rings and flashes the wall's figure);
 *   - the alarm sound: a WebAudio beep generated here, repeated while anything is
 *     unacknowledged. Browsers start audio only after a click or key press on the page,
 *     so the toggle (#alarm-sound-toggle) shows "off", "on" or "click to enable".
 * On the alarm wall (#alarm-wall): live refresh of the case list (htmx, #wall-cases),
 * age counters, the map of open cases, selection, keyboard shortcuts and, for a
 * supervisor, the ticks of bulk acknowledge (kept across live refreshes).
 * On a case page (#alarm-case): live refresh of its parts, snapshot thumbnails,
 * shortcuts. Shortcuts never fire while the user types in a field.
 * No inline script anywhere (CSP): page data comes in data-* attributes and json_script.
 */
(function () {
  "use strict";

  var SOUND_KEY = "campus-safety:alarm-sound";
  var REFRESH_DELAY_MS = 100;
  var RING_EVERY_MS = 4000;
  var BANNER_POLL_MS = 30000;
  var SNAPSHOT_EVERY_MS = 10000;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }
  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }
  function readJSON(id) {
    var node = document.getElementById(id);
    if (!node) { return null; }
    try { return JSON.parse(node.textContent); } catch (err) { return null; }
  }
  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }
  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (err) { return ""; }
  }
  function isTyping(event) {
    var target = event.target;
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }
  /* htmx elements listen with hx-trigger="<name> from:body". */
  function trigger(name) {
    document.body.dispatchEvent(new CustomEvent(name, { bubbles: true }));
  }

  /* --- server time and age counters --- */
  var skewMs = 0;
  function syncClock(iso) {
    var server = Date.parse(iso || "");
    if (!isNaN(server)) { skewMs = server - Date.now(); }
  }
  function serverNow() { return Date.now() + skewMs; }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function formatSpan(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s % 60);
  }
  function tick() {
    $all("[data-since]").forEach(function (node) {
      var t = Date.parse(node.dataset.since);
      if (!isNaN(t)) { node.textContent = formatSpan(serverNow() - t); }
    });
    $all("[data-until]").forEach(function (node) {
      var t = Date.parse(node.dataset.until);
      if (isNaN(t)) { return; }
      var left = t - serverNow();
      node.textContent = (left < 0 ? "−" : "") + formatSpan(Math.abs(left));
      node.classList.toggle("overdue", left < 0);
    });
  }

  /* --- sound --- */
  var Sound = (function () {
    var ctx = null;
    var wanted = true;
    var button = null;
    try { wanted = window.localStorage.getItem(SOUND_KEY) !== "off"; } catch (err) { wanted = true; }

    function state() {
      if (!wanted) { return "off"; }
      return ctx && ctx.state === "running" ? "on" : "blocked";
    }
    function render() {
      if (!button) { return; }
      var s = state();
      var key = "label" + s.charAt(0).toUpperCase() + s.slice(1);
      button.dataset.sound = s;
      button.setAttribute("aria-pressed", s === "on" ? "true" : "false");
      var text = button.dataset[key] || s;
      var label = button.querySelector(".sound-label");  // the icon stays; a phone shows only it
      if (label) { label.textContent = text; } else { button.textContent = text; }
      button.setAttribute("aria-label", text);
    }
    /* Called from a click or key press: the only moment a browser lets audio start. */
    function unlock() {
      if (!wanted) { return; }
      var AudioCtx = window.AudioContext || window.webkitAudioContext;
      if (!ctx && AudioCtx) {
        try {
          ctx = new AudioCtx();
          ctx.onstatechange = render;
        } catch (err) { ctx = null; }
      }
      if (ctx && ctx.state !== "running") { ctx.resume().then(render, render); }
      render();
    }
    function toggle() {
      wanted = !wanted;
      try { window.localStorage.setItem(SOUND_KEY, wanted ? "on" : "off"); } catch (err) { /* private mode */ }
      if (wanted) { unlock(); } else if (ctx) { ctx.suspend().then(render, render); }
      render();
    }
    /* Three short alternating tones; returns true when sound actually played. */
    function beep() {
      if (!wanted || !ctx || ctx.state !== "running") { render(); return false; }
      var t = ctx.currentTime;
      [0, 0.22, 0.44].forEach(function (offset, i) {
        var osc = ctx.createOscillator();
        var gain = ctx.createGain();
        osc.type = "square";
        osc.frequency.value = i % 2 ? 660 : 880;
        gain.gain.setValueAtTime(0.0001, t + offset);
        gain.gain.exponentialRampToValueAtTime(0.25, t + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + offset + 0.18);
        osc.connect(gain);
        gain.connect(ctx.destination);
        osc.start(t + offset);
        osc.stop(t + offset + 0.2);
      });
      return true;
    }
    /* The toggle's click and the "s" key: enable when blocked, otherwise switch. */
    function press() {
      if (state() === "blocked") { unlock(); } else { toggle(); }
    }
    function init(node) {
      button = node;
      if (button) {
        button.addEventListener("click", function (event) {
          event.preventDefault();
          press();
        });
      }
      /* Any click or key press unlocks the sound the user wants, except the toggle's own
         (and "s"), which would otherwise unlock and then switch it straight off. */
      ["pointerdown", "keydown"].forEach(function (type) {
        document.addEventListener(type, function (event) {
          if (button && button.contains(event.target)) { return; }
          if (event.key === "s" && !isTyping(event)) { return; }
          unlock();
        }, true);
      });
      render();
    }
    return { init: init, beep: beep, press: press, state: state };
  })();

  /* --- the banner: one line whatever the count --- */
  var Banner = (function () {
    var node = null;
    var latest = null;
    var count = 0;
    var rings = 0;

    function label(name) { return node.dataset["label" + name] || name; }

    function bellIcon() {
      var ns = "http://www.w3.org/2000/svg";
      var svg = document.createElementNS(ns, "svg");
      var path = document.createElementNS(ns, "path");
      svg.setAttribute("viewBox", "0 0 24 24");
      svg.setAttribute("width", "16");
      svg.setAttribute("height", "16");
      svg.setAttribute("aria-hidden", "true");
      svg.setAttribute("class", "ab-bell");
      path.setAttribute("fill", "currentColor");
      path.setAttribute("d", "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6v-5a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z");
      svg.appendChild(path);
      return svg;
    }

    function acknowledge(url) {
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" }
      }).then(function (response) {
        if (!response.ok) {
          return response.text().then(function (text) { notify(text || String(response.status)); });
        }
        return null;
      }).catch(function () { /* the next refresh shows the truth */ }).then(function () {
        refresh();
        trigger("alarm-refresh");
        trigger("alarm-case-refresh");
      });
    }

    /* The count (a link to the wall), the case to look at first — highest priority,
       newest — with its acknowledge button, and the link to the wall. CSS keeps it on
       one line: the case's names give way (ellipsis) before anything else. */
    function render(data) {
      count = data.count;
      var item = data["case"];
      node.dataset.count = String(count);
      node.dataset.caseId = item ? String(item.id) : "";
      node.hidden = count === 0;
      document.body.classList.toggle("has-alarm", count > 0);
      node.textContent = "";
      if (!count) { return; }
      var head = el("a", null, "ab-count");
      head.href = node.dataset.wallUrl;
      head.title = label("Title") + ": " + count;
      head.appendChild(bellIcon());
      head.appendChild(el("span", label("Title"), "ab-title"));
      head.appendChild(el("strong", String(count), "ab-number"));
      node.appendChild(head);
      if (item) {
        var named = el("a", null, "ab-case");
        named.href = item.url;
        named.dataset.caseId = String(item.id);
        var place = item.school || item.device;
        var detail = [item.device, item.key_area].filter(Boolean).join(" · ");
        named.title = [place, detail].filter(Boolean).join(" · ");
        var prio = el("span", item.priority_label, "prio prio-" + item.priority);
        prio.title = item.priority_text;
        named.appendChild(prio);
        named.appendChild(el("strong", place, "ab-place"));
        if (item.school) { named.appendChild(el("span", detail, "ab-detail")); }
        if (item.escalation_level) {
          named.appendChild(el("span", item.escalation_text, "tag bad ab-escalated"));
        }
        var age = el("span", "", "age");
        age.dataset.since = item.opened_at;
        named.appendChild(age);
        node.appendChild(named);
        if (item.ack_url) {
          var ack = el("button", label("Acknowledge"), "btn primary banner-ack");
          ack.type = "button";
          ack.addEventListener("click", function () {
            ack.disabled = true;
            acknowledge(item.ack_url);
          });
          node.appendChild(ack);
        }
      }
      var wall = el("a", label("Wall") + " \u2192", "ab-wall");
      wall.href = node.dataset.wallUrl;
      node.appendChild(wall);
      tick();
    }

    /* Sound and a flash: the banner, and on the wall (where the banner is hidden) the
       "unacknowledged" figure. */
    function ring() {
      rings += 1;
      node.dataset.rings = String(rings);
      [node].concat($all("[data-alarm-flash]")).forEach(function (target) {
        target.classList.remove("flash");
        void target.offsetWidth;  // restart the CSS animation
        target.classList.add("flash");
      });
      Sound.beep();
    }

    function refresh() {
      if (!node) { return Promise.resolve(); }
      return fetch(node.dataset.url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      }).then(function (data) {
        syncClock(data.now);
        // Case numbers only grow: a larger newest number is a case not seen before.
        var fresh = data.latest_id !== null && (latest === null || data.latest_id > latest);
        if (data.latest_id !== null) { latest = Math.max(latest || 0, data.latest_id); }
        render(data);
        if (fresh) { ring(); }
      }).catch(function (error) { console.warn("alarm banner:", error); });
    }

    function init(banner) {
      node = banner;
      if (!node) { return; }
      refresh();
      setInterval(function () { if (count > 0) { ring(); } }, RING_EVERY_MS);
      setInterval(refresh, BANNER_POLL_MS);
    }
    return { init: init, refresh: refresh };
  })();

  var toast = null;
  function notify(message) {
    if (!toast) {
      toast = el("div", null, "alarm-toast");
      toast.setAttribute("role", "status");
      document.body.appendChild(toast);
    }
    toast.textContent = message;
    toast.hidden = false;
    clearTimeout(notify.timer);
    notify.timer = setTimeout(function () { toast.hidden = true; }, 6000);
  }

  /* --- the wall --- */
  function Wall(root) {
    var selected = null;
    var seen = null;
    var map = null;
    var markers = null;

    function rows() { return $all("#alarm-cases tr.case-row"); }
    function current() {
      return rows().filter(function (r) { return r.dataset.caseId === selected; })[0] || null;
    }
    function select(id, scroll) {
      selected = id;
      rows().forEach(function (row) {
        var on = row.dataset.caseId === id;
        row.classList.toggle("selected", on);
        row.setAttribute("aria-selected", on ? "true" : "false");
        if (on && scroll) { row.scrollIntoView({ block: "nearest" }); }
      });
      root.dataset.selected = id || "";
    }
    function move(delta) {
      var list = rows();
      if (!list.length) { return; }
      var index = list.indexOf(current());
      index = index < 0 ? 0 : Math.min(list.length - 1, Math.max(0, index + delta));
      select(list[index].dataset.caseId, true);
    }
    function acknowledge() {
      var row = current();
      var form = row && row.querySelector(".ack-form");
      if (!form) {  // nothing to acknowledge on the selection: the oldest unacknowledged case
        var waiting = rows().filter(function (r) { return r.querySelector(".ack-form"); });
        waiting.sort(function (a, b) { return Date.parse(a.dataset.opened) - Date.parse(b.dataset.opened); });
        if (!waiting.length) { return; }
        row = waiting[0];
        form = row.querySelector(".ack-form");
        select(row.dataset.caseId, true);
      }
      var button = form.querySelector("button");
      if (button) { button.disabled = true; }
      form.requestSubmit();
    }
    function open(hash) {
      var row = current();
      if (row) { window.location.href = row.dataset.url + (hash || ""); }
    }

    function popup(point) {
      var box = el("div");
      box.appendChild(el("div", point.title, "popup-title"));
      box.appendChild(el("div", point.subtitle, "muted"));
      var link = el("a", "#" + point.id + " →");
      link.href = point.url;
      box.appendChild(link);
      return box;
    }
    /* The map: districts named and every school as a grey dot (map_context.js), the
       open cases as pins; it fits the open cases whenever they change (one more, one
       fewer), and the districts when none is open. A refresh with the same cases keeps
       the view the dispatcher chose. */
    var caseKey = null;
    var districtBounds = null;
    function initMap() {
      var node = $("#alarm-map");
      if (!node || !window.L || !window.campusSafetyMap) { return; }
      var config = readJSON("alarm-map-config") || {};
      var base = window.campusSafetyMap.base(node, config);
      map = base.map;
      districtBounds = base.outlines ? base.outlines.getBounds().pad(0.02) : null;
      markers = L.layerGroup().addTo(map);
      drawPoints();
    }
    function fitCases(bounds) {
      map.invalidateSize();  // the wall's layout may have changed width (cards on a phone)
      if (bounds.length) {
        map.fitBounds(bounds, { padding: [40, 40], maxZoom: 14 });
      } else if (districtBounds) {
        map.fitBounds(districtBounds);
      }
    }
    function drawPoints() {
      var node = $("#alarm-map");
      if (!map || !node) { return; }
      var points = readJSON("alarm-points") || [];
      markers.clearLayers();
      var bounds = [];
      points.forEach(function (point) {
        var pin = el("span", null, "pin state-" + point.state + " prio-" + point.priority +
                     (point.is_test ? " is-test" : "") + (String(point.id) === selected ? " selected" : ""));
        var marker = L.marker([point.lat, point.lon], {
          icon: L.divIcon({ className: "case-pin", html: pin, iconSize: [18, 18] }),
          title: point.title,
          keyboard: false
        });
        marker.bindPopup(function () { return popup(point); });
        marker.on("click", function () { select(String(point.id), true); });
        marker.addTo(markers);
        bounds.push([point.lat, point.lon]);
      });
      var key = points.map(function (point) { return point.id; }).sort().join(",");
      if (key !== caseKey) {
        caseKey = key;
        fitCases(bounds);
      }
      node.dataset.loaded = "true";
      node.dataset.markers = String(points.length);
    }

    /* Bulk acknowledge (a supervisor's wall): the ticked cases survive the live refresh
       of the list; a case someone else acknowledged meanwhile loses its tick. */
    var ticked = {};
    var bulkForm = $("#bulk-ack");
    var bulkAll = $("#bulk-all");
    function ticks() { return $all("#alarm-cases input.bulk-tick"); }
    function updateBulk() {
      if (!bulkForm) { return; }
      var boxes = ticks();
      var n = Object.keys(ticked).length;
      $("#bulk-ticked").textContent = String(n);
      $("#bulk-ack-submit").disabled = n === 0;
      bulkAll.disabled = boxes.length === 0;
      bulkAll.checked = boxes.length > 0 && boxes.every(function (b) { return b.checked; });
      bulkAll.indeterminate = n > 0 && !bulkAll.checked;
    }
    function syncTicks() {
      var present = {};
      ticks().forEach(function (box) {
        present[box.value] = true;
        box.checked = !!ticked[box.value];
      });
      Object.keys(ticked).forEach(function (id) { if (!present[id]) { delete ticked[id]; } });
      updateBulk();
    }
    function setTick(box, on) {
      box.checked = on;
      if (on) { ticked[box.value] = true; } else { delete ticked[box.value]; }
    }
    root.addEventListener("change", function (event) {
      var box = event.target;
      if (box.classList && box.classList.contains("bulk-tick")) {
        setTick(box, box.checked);
      } else if (bulkAll && box === bulkAll) {
        ticks().forEach(function (b) { setTick(b, bulkAll.checked); });
      } else {
        return;
      }
      updateBulk();
    });
    document.body.addEventListener("htmx:afterRequest", function (event) {
      if (bulkForm && event.detail.elt === bulkForm && event.detail.successful) {
        ticked = {};
        syncTicks();
      }
    });

    function afterSwap() {
      var box = $(".wall-cases", root);
      if (box) { syncClock(box.dataset.now); }
      var now = {};
      rows().forEach(function (row) {
        now[row.dataset.caseId] = true;
        if (seen && !seen[row.dataset.caseId]) { row.classList.add("is-new"); }
      });
      seen = now;
      if (selected && !now[selected]) { selected = null; }
      select(selected, false);
      syncTicks();
      drawPoints();
      tick();
    }

    root.addEventListener("click", function (event) {
      var row = event.target.closest("tr.case-row");
      if (row && !event.target.closest("a, button, form, input, label")) { select(row.dataset.caseId, false); }
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target && event.detail.target.id === "wall-cases") { afterSwap(); }
    });
    /* A live refresh swapped in between pressing and releasing the mouse would eat the
       click (the press lands on the old row, the release on the new one): hold it until
       the button is up, then fetch again. */
    var pressed = false;
    var held = false;
    root.addEventListener("pointerdown", function () { pressed = true; });
    function released() {
      pressed = false;
      if (held) {
        held = false;
        setTimeout(function () { trigger("alarm-refresh"); }, 0);  // after the click
      }
    }
    document.addEventListener("pointerup", released);
    document.addEventListener("pointercancel", released);
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (pressed && event.detail.target && event.detail.target.id === "wall-cases") {
        event.detail.shouldSwap = false;
        held = true;
      }
    });

    initMap();
    afterSwap();
    return {
      keys: function (event) {
        switch (event.key) {
          case "j": case "ArrowDown": move(1); return true;
          case "k": case "ArrowUp": move(-1); return true;
          case "a": acknowledge(); return true;
          case "d": open("#dispatch"); return true;
          case "o": case "Enter": open(""); return !!current();
          default: return false;
        }
      }
    };
  }

  /* --- a case page --- */
  function CasePage(root) {
    var actions = $("#case-actions");
    var note = $("#actions-note");

    function isDirty() {
      if (!actions) { return false; }
      if (actions.contains(document.activeElement) && document.activeElement !== actions) { return true; }
      return $all("textarea", actions).some(function (t) { return t.value.trim() !== ""; }) ||
        $all("input[type=checkbox]", actions).some(function (c) { return c.checked !== c.defaultChecked; });
    }
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      if (event.detail.elt === actions && isDirty()) {
        event.preventDefault();
        if (note) { note.hidden = false; }
      }
    });
    /* A refresh already under way when the user started typing is not swapped in either. */
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.target === actions && event.detail.requestConfig &&
          event.detail.requestConfig.verb === "get" && isDirty()) {
        event.detail.shouldSwap = false;
        if (note) { note.hidden = false; }
      }
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      var target = event.detail.target;
      if (target && target.id === "case-strip") {
        var strip = $(".case-strip", target);
        if (strip) { syncClock(strip.dataset.now); }
      }
      if (target === actions && note) { note.hidden = true; }
      tick();
    });

    function refreshSnapshots() {
      $all("img.snapshot[data-src]").forEach(function (img) {
        img.src = img.dataset.src + "?t=" + Date.now();
      });
    }
    $all("img.snapshot[data-src]").forEach(function (img) {
      img.addEventListener("error", function () { img.classList.add("failed"); });
      img.addEventListener("load", function () { img.classList.remove("failed"); });
    });
    refreshSnapshots();
    setInterval(refreshSnapshots, SNAPSHOT_EVERY_MS);
    var strip = $(".case-strip");
    if (strip) { syncClock(strip.dataset.now); }

    function focusIn(selector, fieldSelector) {
      var box = $(selector);
      if (!box) { return false; }
      box.scrollIntoView({ block: "center" });
      var field = $(fieldSelector, box);
      if (field) { field.focus(); }
      return true;
    }
    if (window.location.hash === "#dispatch") { focusIn("#dispatch", "input[type=checkbox]"); }

    return {
      caseId: root.dataset.caseId,
      keys: function (event) {
        switch (event.key) {
          case "a": {
            var form = $("#ack-form");
            if (form) { form.requestSubmit(); }
            return !!form;
          }
          case "d": return focusIn("#dispatch", "input[type=checkbox]");
          case "c": return focusIn("#close", "textarea");
          case "w": window.location.href = root.dataset.wallUrl; return true;
          default: return false;
        }
      }
    };
  }

  /* --- wiring --- */
  document.addEventListener("DOMContentLoaded", function () {
    Sound.init($("#alarm-sound-toggle"));
    Banner.init($("#alarm-banner"));
    var wallRoot = $("#alarm-wall");
    var caseRoot = $("#alarm-case");
    var page = wallRoot ? Wall(wallRoot) : caseRoot ? CasePage(caseRoot) : null;
    var help = $("#shortcut-help");

    $all("[data-shortcut-help]").forEach(function (button) {
      button.addEventListener("click", function () { if (help) { help.showModal(); } });
    });
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event)) { return; }
      if (help && help.open) { return; }  // the dialog handles Esc itself
      var handled = false;
      if (event.key === "?" && help) {
        help.showModal();
        handled = true;
      } else if (event.key === "s" && $("#alarm-sound-toggle")) {
        Sound.press();
        handled = true;
      } else if (page) {
        handled = page.keys(event);
      }
      if (handled) { event.preventDefault(); }
    });

    var refreshAll = debounce(function () { trigger("alarm-refresh"); }, REFRESH_DELAY_MS);
    var refreshCase = debounce(function () { trigger("alarm-case-refresh"); }, REFRESH_DELAY_MS);
    document.body.addEventListener("alarm-refresh", debounce(Banner.refresh, REFRESH_DELAY_MS));
    document.body.addEventListener("htmx:responseError", function (event) {
      var xhr = event.detail.xhr;
      var elt = event.detail.elt;
      if (xhr && (xhr.status === 409 || (xhr.status === 400 && elt && elt.id === "bulk-ack"))) {
        notify(xhr.responseText);
      }
    });

    if (window.CampusLive) {
      window.CampusLive.connect({
        onEvent: function (name, data) {
          if (name.indexOf("alarm.") !== 0) { return; }
          refreshAll();
          var payload = (data && data.payload) || {};
          if (page && page.caseId && String(payload.case_id) === page.caseId) { refreshCase(); }
        },
        onGap: function () { refreshAll(); refreshCase(); }
      });
    }
    setInterval(tick, 1000);
    tick();
  });
})();
