/* 指挥大屏 — the command-centre big screen. Runs unattended for days, so:
   - it draws from two JSON parts (live: alarms, units, posts, devices, hazards; kpi: the
     4×100% board) and never reloads the page;
   - its first paint comes with the page (big-screen-first: the alarms counted now, the
     rest as last computed for this scope, with its age), then every part is fetched
     fresh — so a screen shows figures at once however slow the city's sums are; a
     scope with nothing kept yet shows the alarms the page came with and fetches the
     other parts one by one (live.json?part=), drawing each as it comes;
   - the live stream (CampusLive: reconnects with Last-Event-ID, replaying what was missed)
     makes it refetch the live part at once after an alarm, unit, device or post event,
     and after every (re)connection, so what happened while it was away is shown;
   - a poll every pollSeconds refetches anyway (a dropped stream loses nothing), and the
     status pill says "stale" when the newest data is older than staleSeconds and
     "reconnecting" while the server does not answer;
   - memory stays flat: layers are cleared and refilled, the chart is updated in place,
     lists are rebuilt from scratch, nothing accumulates per event. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("big-screen-config").textContent);
  var W = cfg.words;
  var lastData = 0;
  var failing = false;
  var pending = null;
  var inFlight = false;
  var again = false;
  var map = null, layers = null, trend = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var n = document.createElement(tag);
    if (text !== undefined && text !== null) n.textContent = String(text);
    if (cls) n.className = cls;
    return n;
  }
  // Pixel sizes drawn by script (chart fonts, map markers) follow the page's rem, so a
  // 3840×2160 wall reads like a 1920×1080 one (the rem is 18 px at 1920 wide).
  function scale() { return parseFloat(getComputedStyle(document.documentElement).fontSize) / 18; }
  function pct(v) { return v === null || v === undefined ? "—" : (100 * v).toFixed(1) + "%"; }
  function rateClass(v) { return v >= 0.999 ? "rate ok" : v >= 0.9 ? "rate warn" : "rate bad"; }
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function hhmmss(d) { return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()); }

  function setState(state) {
    document.body.dataset.state = state;
    var pill = $("bs-connection");
    pill.dataset.state = state;
    pill.textContent = state === "live" ? W.live : state === "stale" ? W.stale : W.reconnecting;
  }

  function tick() {
    var now = new Date();
    $("bs-clock").textContent = hhmmss(now);
    if (!lastData) return;
    var age = (Date.now() - lastData) / 1000;
    setState(failing ? "reconnecting" : age > cfg.staleSeconds ? "stale" : "live");
  }

  // Every fetch leaves a resource-timing entry in the page's performance buffer; a
  // screen that refetches every few seconds for days has no use for them.
  function fetchJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) {
        if (window.performance && performance.clearResourceTimings) performance.clearResourceTimings();
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      });
  }

  function refreshLive() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    fetchJSON(cfg.liveUrl).then(function (data) {
      failing = false;
      lastData = Date.now();
      drawLive(data);
      document.body.dataset.fresh = "live";
      $("bs-updated").textContent = hhmmss(new Date());
    }).catch(function () { failing = true; }).then(function () {
      inFlight = false;
      tick();
      if (again) { again = false; schedule(100); }
    });
  }

  function schedule(ms) {
    if (pending) return;
    pending = setTimeout(function () { pending = null; refreshLive(); }, ms);
  }

  function refreshKpi() {
    fetchJSON(cfg.kpiUrl).then(drawKpi).catch(function () { failing = true; });
  }

  // --- drawing ---------------------------------------------------------------------------

  function drawKpi(data) {
    var total = $("bs-kpi-total");
    total.replaceChildren();
    data.targets.forEach(function (t) {
      var box = el("div");
      var b = el("b", pct(data.rates[t.key]), rateClass(data.rates[t.key]));
      box.appendChild(b);
      box.appendChild(el("span", t.label));
      total.appendChild(box);
    });
    var table = $("bs-kpi-table");
    var head = el("tr");
    head.appendChild(el("th", ""));
    data.targets.forEach(function (t) { head.appendChild(el("th", t.label)); });
    table.tHead.replaceChildren(head);
    var rows = data.districts.map(function (d) {
      var tr = el("tr");
      tr.appendChild(el("td", d.name));
      data.targets.forEach(function (t) { tr.appendChild(el("td", pct(d.rates[t.key]), rateClass(d.rates[t.key]))); });
      return tr;
    });
    table.tBodies[0].replaceChildren.apply(table.tBodies[0], rows);
    if (data.alerts) drawAlerts(data.alerts);
    if (data.ranking) drawRanking(data.ranking);
  }

  // Open early-warning clusters: a list (strongest first) and circles on the map.
  function drawAlerts(alerts) {
    $("bs-alerts-open").textContent = W.openCount.replace("%(n)s", alerts.open);
    var list = $("bs-alerts");
    var items = alerts.clusters.slice(0, 8).map(function (a) {
      var li = el("li");
      li.dataset.alertId = a.id;
      li.appendChild(el("span", a.kind + (a.school ? " · " + a.school : "")));
      li.appendChild(el("b", W.incidents.replace("%(observed)s", a.observed).replace("%(expected)s", a.expected)));
      return li;
    });
    if (!items.length) items = [el("li", W.noAlerts, "none")];
    list.replaceChildren.apply(list, items);
    if (!map) return;
    layers.clusters.clearLayers();
    alerts.clusters.forEach(function (a) {
      L.circle([a.lat, a.lon], { radius: a.radius_m, color: "#c084fc", weight: 2, fillColor: "#c084fc", fillOpacity: 0.12 })
        .bindTooltip(W.cluster + " · " + a.reference + " · " + a.kind).addTo(layers.clusters);
    });
  }

  // The latest inspection day's lowest districts and schools, worst first.
  function drawRanking(ranking) {
    $("bs-ranking-date").textContent = ranking.date || "";
    function fill(list, caption, rows, name, figure) {
      if (!ranking.date) { list.replaceChildren(el("li", W.noRanking, "none")); return; }
      var items = caption ? [el("li", caption, "group")] : [];
      rows.forEach(function (r) {
        var li = el("li", null, r[figure] < ranking.pass_score ? "bad" : "");
        li.appendChild(el("span", r[name]));
        li.appendChild(el("b", r[figure].toFixed(1)));
        items.push(li);
      });
      list.replaceChildren.apply(list, items);
    }
    fill($("bs-ranking-districts"), W.worstDistricts, ranking.districts, "name", "mean");
    fill($("bs-ranking-schools"), "", ranking.schools, "name", "score");
  }

  function drawLive(data) {
    drawAlarms(data.alarms);
    drawPosts(data.posts);
    drawHazards(data.hazards);
    drawDevices(data.devices);
  }

  // Each part draws on its own (tiles, list, its map layers), so a screen that fetches
  // them one by one shows each as it comes.
  function drawAlarms(a) {
    var t = a.today;
    $("bs-open-alarms").textContent = a.open_count;
    $("bs-alarms-today").textContent = t.total;
    $("bs-ack-target").textContent = t.acknowledged ? pct(t.ack_in_target / t.acknowledged) : "—";
    $("bs-ack-sub").textContent = t.ack_in_target + " / " + t.acknowledged + " · ≤" + t.ack_target_s + W.seconds;
    $("bs-arrival-target").textContent = t.arrived ? pct(t.arrival_in_target / t.arrived) : "—";
    $("bs-arrival-sub").textContent = t.arrival_in_target + " / " + t.arrived + " · ≤" + Math.round(t.arrival_target_s / 60) + "′";
    drawAlarmList(a.open);
    drawAlarmMarkers(a);
  }

  function drawPosts(p) {
    var staffed = p.by_state.staffed || 0, judged = staffed + (p.by_state.understaffed || 0) + (p.by_state.empty || 0);
    $("bs-posts").textContent = judged ? pct(staffed / judged) : "—";
    $("bs-posts-sub").textContent = p.present + " / " + p.required + " · " + W.empty + " " + (p.by_state.empty || 0);
    drawPostMarkers(p);
  }

  function drawHazards(h) {
    $("bs-hazards").textContent = h.opened_this_month + " / " + h.closed_this_month;
    $("bs-hazards-sub").textContent = "↑ / ✓ · " + h.open;
    drawSpotMarkers(h);
  }

  function drawAlarmList(cases) {
    var list = $("bs-alarm-list");
    var now = Date.now();
    // the ones nobody has acknowledged first, then by priority, the newest first: a new
    // alarm must be in sight however many are open
    var open = cases.filter(function (c) { return !c.is_test; }).sort(function (x, y) {
      return (x.ack_s !== null) - (y.ack_s !== null) || x.priority - y.priority ||
        Date.parse(y.opened_at) - Date.parse(x.opened_at);
    });
    var items = open.slice(0, 12).map(function (c) {
      var li = el("li");
      li.dataset.caseId = c.id;
      li.dataset.state = c.state;
      if (c.ack_late) li.classList.add("late");
      li.appendChild(el("span", c.school, "school"));
      li.appendChild(el("span", c.state_label, "state"));
      var age = Math.max(0, Math.round((now - Date.parse(c.opened_at)) / 1000));
      var meta = c.district + " · " + Math.floor(age / 60) + "′" + pad(age % 60) + "″";
      if (c.ack_s !== null) meta += " · " + W.ack + " " + Math.round(c.ack_s) + W.seconds;
      if (c.units.length) meta += " · " + c.units.map(function (u) { return u.name + (u.state === "on_scene" ? W.onScene : W.enRoute); }).join("、");
      li.appendChild(el("span", meta, "meta"));
      return li;
    });
    if (!items.length) items = [el("li", W.noAlarms, "none")];
    list.replaceChildren.apply(list, items);
    if (open.length) fitList(list, open.length);
  }

  // Drop the rows the panel cannot show and say how many open alarms are out of sight.
  function fitList(list, total) {
    var more = el("li", "", "more");
    list.appendChild(more);
    function label() {
      var hidden = total - (list.children.length - 1);
      more.textContent = W.more.replace("%(n)s", hidden);
      more.hidden = hidden <= 0;
    }
    label();
    while (list.children.length > 2 && list.scrollHeight > list.clientHeight + 1) {
      list.removeChild(more.previousSibling);
      label();
    }
  }

  var lastDevices = null, trendKey = null;
  function drawDevices(d) {
    lastDevices = d;
    $("bs-devices-total").textContent = d.online + " / " + d.total + " " + W.online;
    var box = $("bs-device-kinds");
    box.replaceChildren.apply(box, d.by_kind.map(function (k) {
      var div = el("div");
      div.appendChild(el("b", k.online + "/" + k.total));
      div.appendChild(el("span", k.label));
      return div;
    }));
    if (!window.echarts) return;
    if (!trend) trend = window.echarts.init($("bs-device-trend"), "dark", { renderer: "canvas" });
    var k = scale();
    // The trend's points are whole hours: rebuilding the chart on every refetch (every
    // event) would throw away and rebuild all its components each time for nothing.
    var key = JSON.stringify([d.trend, d.by_kind, k]);
    if (key === trendKey) return;
    trendKey = key;
    var names = {}, font = Math.round(12 * k);
    d.by_kind.forEach(function (kind) { names[kind.kind] = kind.label; });
    trend.setOption({
      backgroundColor: "transparent",
      grid: { left: 50 * k, right: 12 * k, top: 28 * k, bottom: 24 * k },
      legend: { top: 0, textStyle: { color: "#8ea2c4", fontSize: font }, itemWidth: 25 * k, itemHeight: 14 * k },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: d.trend.hours, axisLabel: { color: "#8ea2c4", fontSize: font } },
      yAxis: { type: "value", axisLabel: { color: "#8ea2c4", fontSize: font }, splitLine: { lineStyle: { color: "#22304d" } } },
      series: Object.keys(d.trend.series).map(function (kind) {
        return { name: names[kind] || kind, type: "line", showSymbol: false, data: d.trend.series[kind] };
      }),
    }, { notMerge: true });
  }

  // Map layers: each is cleared and refilled by its own part (clusters: drawAlerts).
  function drawAlarmMarkers(alarms) {
    if (!map) return;
    layers.units.clearLayers();
    layers.alarms.clearLayers();
    var n = 0;
    alarms.open.forEach(function (c) {
      if (c.lat === null || c.lon === null || c.is_test) return;
      n += 1;
      L.circleMarker([c.lat, c.lon], { radius: 11 * scale(), color: "#fecaca", weight: 2, fillColor: "#ef4444", fillOpacity: 0.9 })
        .bindTooltip(c.school + " · " + c.state_label).addTo(layers.alarms);
    });
    alarms.units.forEach(function (u) {
      if (u.lat === null || u.lon === null) return;
      L.circleMarker([u.lat, u.lon], { radius: 7 * scale(), color: "#bfdbfe", weight: 1, fillColor: "#3b82f6", fillOpacity: 0.9 })
        .bindTooltip(u.name + " · " + (u.state === "on_scene" ? W.onScene : W.enRoute)).addTo(layers.units);
    });
    $("bs-map").dataset.markers = String(n);
  }

  function drawPostMarkers(posts) {
    if (!map) return;
    layers.posts.clearLayers();
    posts.live.forEach(function (p) {
      var colour = p.state === "staffed" ? "#22c55e" : p.state === "empty" ? "#ef4444" : "#f59e0b";
      L.circleMarker([p.lat, p.lon], { radius: 4 * scale(), stroke: false, fillColor: colour, fillOpacity: 0.85 })
        .bindTooltip(W.post + " · " + p.school + " " + p.present + "/" + p.required).addTo(layers.posts);
    });
  }

  function drawSpotMarkers(hazards) {
    if (!map) return;
    layers.spots.clearLayers();
    hazards.trouble_spots.forEach(function (s) {
      L.circleMarker([s.lat, s.lon], { radius: 5 * scale(), color: "#fde68a", weight: 1, fillColor: "#f59e0b", fillOpacity: 0.8 })
        .bindTooltip(W.troubleSpot + " · " + s.title).addTo(layers.spots);
    });
  }

  function startMap() {
    if (!window.L || !window.campusSafetyMap) return;
    var base = window.campusSafetyMap.base($("bs-map"), cfg, { schools: true, zoomControl: false, attributionControl: false });
    map = base.map;
    layers = { clusters: L.layerGroup().addTo(map), spots: L.layerGroup().addTo(map), posts: L.layerGroup().addTo(map),
      units: L.layerGroup().addTo(map), alarms: L.layerGroup().addTo(map) };
  }

  // The figures the page came with: drawn at once, dated by their age on the server.
  // Returns whether the page came with every live part (else they are fetched one by one).
  function drawFirst() {
    var node = $("big-screen-first");
    var first = node ? JSON.parse(node.textContent) : null;
    if (!first) return false;
    if (first.kpi) drawKpi(first.kpi);
    if (first.live) {
      lastData = Date.now() - 1000 * (first.live_age_s || 0);
      drawLive(first.live);
      $("bs-updated").textContent = hhmmss(new Date(lastData));
      document.body.dataset.first = "snapshot";
      tick();
      return true;
    }
    if (first.alarms) {  // nothing kept for this scope: the alarms counted now, at least
      drawAlarms(first.alarms);
      document.body.dataset.first = "alarms";
    }
    return false;
  }

  // A screen with nothing kept: each slow part is fetched on its own and drawn as it
  // comes (the cheap ones first), instead of one response waiting for the slowest; the
  // full refetches (events, poll) wait until they are in.
  var DRAW_PART = { posts: drawPosts, hazards: drawHazards, devices: drawDevices };
  function fetchParts() {
    inFlight = true;
    var sep = cfg.liveUrl.indexOf("?") < 0 ? "?" : "&";
    var parts = cfg.liveParts.map(function (name) {
      return fetchJSON(cfg.liveUrl + sep + "part=" + name).then(function (data) {
        DRAW_PART[name](data[name]);
        document.body.dataset.parts = ((document.body.dataset.parts || "") + " " + name).trim();
        return true;
      }).catch(function () { failing = true; return false; });
    });
    Promise.all(parts).then(function (done) {
      if (done.every(Boolean)) {
        failing = false;
        lastData = Date.now();
        $("bs-updated").textContent = hhmmss(new Date());
      }
      inFlight = false;
      again = false;
      tick();
      schedule(100);  // one whole refetch: it keeps the scope's snapshot for the next screen
    });
  }

  function start() {
    var region = $("bs-region");
    if (region) region.addEventListener("change", function () { region.form.submit(); });
    startMap();
    if (drawFirst()) refreshLive();
    else fetchParts();
    refreshKpi();
    setInterval(tick, 1000);
    setInterval(refreshLive, cfg.pollSeconds * 1000);
    setInterval(refreshKpi, cfg.kpiSeconds * 1000);
    window.addEventListener("resize", function () {
      if (!trend) return;
      trend.resize();
      trendKey = null;
      if (lastDevices) drawDevices(lastDevices);  // fonts follow the rem
    });
    if (window.CampusLive) {
      var watched = new Set(cfg.events);
      window.CampusLive.connect({
        url: cfg.streamUrl,
        onEvent: function (name) {
          if (name === "live.hello") { schedule(50); return; }  // (re)connected: catch up
          if (watched.has(name)) schedule(150);
        },
        onGap: function () { schedule(50); refreshKpi(); },
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
