/* Live video tiles: ask the platform for the camera's stream (POST start), then play
   the MPEG-TS it sends with mpegts.js (Media Source Extensions; nothing transcoded).
   The video wall steps through a school's cameras (轮巡) when asked. Timings go to
   window.videoMetrics for the browser test and bench/video.py. */
(function () {
  "use strict";
  var words = {};
  var metrics = (window.videoMetrics = window.videoMetrics || []);
  var MAX_LATENCY = 1.0; // seconds behind the newest frame before the player jumps ahead
  /* H.265 Main, level 3.1: a browser whose MSE takes this decodes the cameras' H.265
     (mpegts.js repackages it as hvc1); Debian's Chromium, Firefox and most browsers
     without hardware decoding do not */
  var HEVC = 'video/mp4; codecs="hvc1.1.6.L93.B0"';

  function decodes(codec) {
    if (codec !== "h265") { return true; }
    var source = window.ManagedMediaSource || window.MediaSource;
    return !!(source && source.isTypeSupported && source.isTypeSupported(HEVC));
  }

  function csrf() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function say(tile, text, isError) {
    var state = tile.querySelector(".video-state");
    state.textContent = text || "";
    state.hidden = !text;
    state.classList.toggle("error", !!isError);
  }

  function stop(tile) {
    if (tile._player) {
      try { tile._player.destroy(); } catch (e) { /* already gone */ }
      tile._player = null;
    }
    if (tile._chase) { clearInterval(tile._chase); tile._chase = null; }
  }

  function retryButton(tile) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn small";
    button.textContent = words.retry;
    button.addEventListener("click", function () { start(tile); });
    tile.querySelector(".video-state").appendChild(document.createTextNode(" "));
    tile.querySelector(".video-state").appendChild(button);
  }

  function start(tile) {
    stop(tile);
    var video = tile.querySelector("video");
    if (!window.mpegts || !mpegts.getFeatureList().mseLivePlayback) {
      say(tile, words.unsupported, true);
      return;
    }
    var record = { camera: tile.dataset.camera, clicked: performance.now() };
    metrics.push(record);
    tile.dataset.state = "starting";
    say(tile, words.starting);
    var form = new URLSearchParams();
    if (tile.dataset.from) { form.set("from", tile.dataset.from); }
    record.playback = tile.dataset.from || "";
    fetch(tile.dataset.start, {
      method: "POST",
      credentials: "same-origin",
      body: form,
      headers: { "X-CSRFToken": csrf(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      if (!answer.ok) {
        tile.dataset.state = "failed";
        tile.dataset.error = answer.body.code || "";
        say(tile, answer.body.error || words.failed, true);
        retryButton(tile);
        record.error = answer.body.error;
        return;
      }
      record.answered = performance.now();
      record.setupMs = answer.body.setup_ms;
      tile.dataset.codec = answer.body.codec || "";
      if (!decodes(answer.body.codec)) {
        /* say why instead of a black tile; the stream, never joined, stops on its own */
        tile.dataset.state = "unsupported";
        tile.dataset.error = "codec";
        say(tile, words.hevc, true);
        record.error = "codec";
        return;
      }
      /* a playback is this viewer's own: its controls name it */
      tile.dataset.playbackId = answer.body.playback || "";
      var url = answer.body.url + (tile.dataset.why ? "?why=" + encodeURIComponent(tile.dataset.why) : "");
      var player = mpegts.createPlayer(
        { type: "mpegts", isLive: true, hasAudio: false, hasVideo: true, url: url },
        { enableWorker: false, enableStashBuffer: false, lazyLoad: false,
          liveBufferLatencyChasing: true, liveBufferLatencyMaxLatency: 1.5,
          liveBufferLatencyMinRemain: 0.3, autoCleanupSourceBuffer: true }
      );
      tile._player = player;
      player.attachMediaElement(video);
      player.on(mpegts.Events.ERROR, function () {
        tile.dataset.state = "ended";
        say(tile, words.failed, true);
        retryButton(tile);
        stop(tile);
      });
      player.on(mpegts.Events.LOADING_COMPLETE, function () {
        tile.dataset.state = "ended";
        say(tile, words.ended, true);
        retryButton(tile);
        tile.dispatchEvent(new CustomEvent("video:ended"));
      });
      player.load();
      var playing = player.play();
      if (playing && playing.catch) { playing.catch(function () { /* autoplay of muted video */ }); }
      tile._chase = setInterval(function () {
        var buffered = video.buffered;
        if (buffered.length && buffered.end(buffered.length - 1) - video.currentTime > MAX_LATENCY) {
          video.currentTime = buffered.end(buffered.length - 1) - 0.1;
        }
      }, 500);
    }).catch(function () {
      tile.dataset.state = "failed";
      say(tile, words.failed, true);
      retryButton(tile);
    });
    var shown = function () {
      if (video.currentTime > 0 && !record.firstPicture) {
        record.firstPicture = performance.now();
        record.firstPictureMs = Math.round(record.firstPicture - record.clicked);
        tile.dataset.state = "playing";
        say(tile, "");
        video.removeEventListener("timeupdate", shown);
      }
    };
    video.addEventListener("timeupdate", shown);
  }

  function tileFor(camera, why) {
    var figure = document.createElement("figure");
    figure.className = "video-tile";
    figure.dataset.start = camera.start;
    figure.dataset.camera = camera.device_id;
    if (why) { figure.dataset.why = why; }
    var frame = document.createElement("div");
    frame.className = "video-frame";
    var video = document.createElement("video");
    video.muted = true;
    video.playsInline = true;
    video.autoplay = true;
    var state = document.createElement("div");
    state.className = "video-state";
    state.setAttribute("role", "status");
    frame.appendChild(video);
    frame.appendChild(state);
    var caption = document.createElement("figcaption");
    var link = document.createElement("a");
    link.href = camera.page;
    link.textContent = camera.name;
    caption.appendChild(link);
    figure.appendChild(frame);
    figure.appendChild(caption);
    return figure;
  }

  function tour(wall) {
    var seconds = parseInt(wall.dataset.tour, 10) || 0;
    var source = document.getElementById("wall-cameras");
    if (!seconds || !source) { return; }
    var cameras = JSON.parse(source.textContent);
    var size = parseInt(wall.dataset.grid, 10) || 4;
    if (cameras.length <= size) { return; }
    var page = 0;
    setInterval(function () {
      page = (page + 1) % Math.ceil(cameras.length / size);
      wall.querySelectorAll(".video-tile").forEach(stop);
      wall.textContent = "";
      cameras.slice(page * size, page * size + size).forEach(function (camera) {
        var figure = tileFor(camera, "video wall tour");
        wall.appendChild(figure);
        start(figure);
      });
    }, seconds * 1000);
  }

  function replayButtons(tile) {
    var replay = tile.querySelector("[data-playback]");
    var live = tile.querySelector("[data-live]");
    if (!replay || !live) { return; }
    replay.addEventListener("click", function () {
      tile.dataset.from = replay.dataset.playback;
      live.hidden = false;
      start(tile);
    });
    live.addEventListener("click", function () {
      delete tile.dataset.from;
      live.hidden = true;
      start(tile);
    });
  }

  window.videoTiles = { start: start };

  function init() {
    var source = document.getElementById("video-words");
    if (source) { words = source.dataset; }
    document.querySelectorAll(".video-tile[data-start]").forEach(function (tile) {
      if (!tile._started) { tile._started = true; replayButtons(tile); start(tile); }
    });
    var wall = document.getElementById("video-wall");
    if (wall) { tour(wall); }
    window.addEventListener("pagehide", function () {
      document.querySelectorAll(".video-tile").forEach(stop);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

/* PTZ buttons on a camera's page: a move while the button is held, stop on release. */
(function () {
  "use strict";
  var box = document.getElementById("ptz");
  if (!box) { return; }
  function csrf() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  function send(action) {
    var body = new URLSearchParams({ action: action, speed: "128" });
    return fetch(box.dataset.url, { method: "POST", credentials: "same-origin", body: body,
      headers: { "X-CSRFToken": csrf() } }).then(function (response) {
      document.getElementById("ptz-note").textContent = response.ok ? "" : box.dataset.failed;
    });
  }
  box.querySelectorAll("button[data-action]").forEach(function (button) {
    var action = button.dataset.action;
    if (action === "stop") {
      button.addEventListener("click", function () { send(action); });
      return;
    }
    button.addEventListener("pointerdown", function () { send(action); });
    ["pointerup", "pointerleave"].forEach(function (name) {
      button.addEventListener(name, function (event) {
        if (event.type === "pointerleave" && !event.buttons) { return; }
        send("stop");
      });
    });
  });
})();

/* A camera's presets with their names: pick one to go there; save, rename, delete. */
(function () {
  "use strict";
  var box = document.getElementById("presets");
  if (!box) { return; }
  var pick = box.querySelector("select[name=pick]");
  var number = box.querySelector("input[name=preset]");
  var name = box.querySelector("input[name=name]");
  var note = document.getElementById("preset-note");
  function csrf() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  function fill(list) {
    while (pick.options.length > 1) { pick.remove(1); }
    list.forEach(function (preset) {
      var option = document.createElement("option");
      option.value = String(preset.number);
      option.dataset.name = preset.name;
      option.textContent = preset.number + " · " + preset.name;
      pick.appendChild(option);
    });
  }
  function send(action) {
    var body = new URLSearchParams({ action: action, number: number.value, name: name.value });
    box.dataset.busy = "1";
    return fetch(box.dataset.url, { method: "POST", credentials: "same-origin", body: body,
      headers: { "X-CSRFToken": csrf(), "Accept": "application/json" } })
      .then(function (response) { return response.json().then(function (b) { return [response.ok, b]; }); })
      .then(function (answer) {
        delete box.dataset.busy;
        note.textContent = answer[0] ? "" : (answer[1].error || box.dataset.failed);
        box.dataset.last = action + (answer[0] ? ":ok" : ":failed");
        if (answer[0]) { fill(answer[1].presets); pick.value = action === "preset_delete" ? "" : number.value; }
      })
      .catch(function () { delete box.dataset.busy; note.textContent = box.dataset.failed; });
  }
  pick.addEventListener("change", function () {
    var option = pick.options[pick.selectedIndex];
    if (!option || !option.value) { return; }
    number.value = option.value;
    name.value = option.dataset.name || "";
    send("preset_call");
  });
  box.querySelectorAll("button[data-preset]").forEach(function (button) {
    button.addEventListener("click", function () { send(button.dataset.preset); });
  });
})();

/* A camera's recordings that day as a 24-hour bar; a click plays from there. */
(function () {
  "use strict";
  var box = document.getElementById("recordings");
  if (!box) { return; }
  var bar = box.querySelector(".timeline-bar");
  var note = document.getElementById("recordings-note");
  var tile = document.querySelector("#camera-live .video-tile");
  var dayStart = 0;
  function load() {
    var date = box.querySelector("input[name=date]").value;
    bar.textContent = "";
    note.textContent = "";
    fetch(box.dataset.url + "?date=" + encodeURIComponent(date), { credentials: "same-origin" })
      .then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); })
      .then(function (answer) {
        if (!answer[0]) { note.textContent = answer[1].error || box.dataset.failed; return; }
        dayStart = answer[1].day_start;
        if (!answer[1].recordings.length) { note.textContent = box.dataset.none; }
        answer[1].recordings.forEach(function (span) {
          var piece = document.createElement("div");
          piece.className = "timeline-piece";
          piece.style.left = ((span[0] - dayStart) / 864) + "%";
          piece.style.width = Math.max((span[1] - span[0]) / 864, 0.2) + "%";
          bar.appendChild(piece);
        });
        box.dataset.loaded = "1";
      })
      .catch(function () { note.textContent = box.dataset.failed; });
  }
  var controls = document.getElementById("playback-controls");
  var download = document.getElementById("download");
  function two(n) { return (n < 10 ? "0" : "") + n; }
  bar.addEventListener("click", function (event) {
    if (!event.target.classList.contains("timeline-piece") || !tile) { return; }
    var rect = bar.getBoundingClientRect();
    var offset = Math.floor((event.clientX - rect.left) / rect.width * 86400);
    tile.dataset.from = String(dayStart + offset);
    if (download) {
      download.querySelector("input[name=clock]").value =
        two(Math.floor(offset / 3600)) + ":" + two(Math.floor(offset / 60) % 60) + ":" + two(offset % 60);
    }
    window.videoTiles.start(tile);
    if (controls) { showControls(); }
  });
  box.querySelector("input[name=date]").addEventListener("change", load);
  box.querySelector("[data-live]").addEventListener("click", function () {
    if (tile) { delete tile.dataset.from; window.videoTiles.start(tile); }
    if (controls) { controls.hidden = true; }
  });
  load();

  function csrf() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  function post(url, fields) {
    return fetch(url, { method: "POST", credentials: "same-origin", body: new URLSearchParams(fields),
      headers: { "X-CSRFToken": csrf(), "Accept": "application/json" } })
      .then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); });
  }

  /* Pause, resume, speed and jump of a playback: MANSRTSP through the platform. */
  function showControls() {
    controls.hidden = false;
    controls.querySelector("[data-control=pause]").hidden = false;
    controls.querySelector("[data-control=resume]").hidden = true;
    controls.querySelector("select[name=scale]").value = "1";
    controls.querySelector("input[name=position]").value = "0";
    document.getElementById("playback-note").textContent = "";
    var video = tile.querySelector("video");
    if (video) { video.playbackRate = 1; }
  }
  function control(fields) {
    var note = document.getElementById("playback-note");
    fields.from = tile.dataset.from;
    fields.playback = tile.dataset.playbackId || "";
    controls.dataset.busy = "1";
    return post(controls.dataset.url, fields).then(function (answer) {
      delete controls.dataset.busy;
      note.textContent = answer[0] ? "" : (answer[1].error || controls.dataset.failed);
      controls.dataset.last = fields.action + (answer[0] ? ":ok" : ":failed");
      return answer[0];
    }).catch(function () { delete controls.dataset.busy; note.textContent = controls.dataset.failed; });
  }
  if (controls && tile) {
    var video = tile.querySelector("video");
    var pause = controls.querySelector("[data-control=pause]");
    var resume = controls.querySelector("[data-control=resume]");
    pause.addEventListener("click", function () {
      control({ action: "pause" }).then(function (ok) {
        if (ok) { pause.hidden = true; resume.hidden = false; video.pause(); }
      });
    });
    resume.addEventListener("click", function () {
      control({ action: "resume" }).then(function (ok) {
        if (ok) { pause.hidden = false; resume.hidden = true; video.play().catch(function () {}); }
      });
    });
    controls.querySelector("select[name=scale]").addEventListener("change", function (event) {
      var scale = event.target.value;
      control({ action: "speed", scale: scale }).then(function (ok) {
        if (ok) { video.playbackRate = parseFloat(scale); }
      });
    });
    controls.querySelector("input[name=position]").addEventListener("change", function (event) {
      control({ action: "seek", position: event.target.value });
    });
    /* The device said end of file (MediaStatus 121): tell the viewer so. */
    tile.addEventListener("video:ended", function () {
      if (!tile.dataset.from) { return; }
      fetch(controls.dataset.url + "?from=" + encodeURIComponent(tile.dataset.from) +
            "&playback=" + encodeURIComponent(tile.dataset.playbackId || ""), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (state) {
          if (state.state === "ended" && state.reason === "end of file") {
            tile.dataset.state = "eof";
            var shown = tile.querySelector(".video-state");
            shown.firstChild.textContent = controls.dataset.eof;
            controls.hidden = true;
          }
        }).catch(function () { /* the generic "ended" stays */ });
    });
  }

  /* Download a clip as MP4: the span from the form, the reason required. */
  if (download) {
    var note = document.getElementById("download-note");
    download.addEventListener("submit", function (event) {
      event.preventDefault();
      var parts = download.querySelector("input[name=clock]").value.split(":");
      var offset = (parseInt(parts[0], 10) || 0) * 3600 + (parseInt(parts[1], 10) || 0) * 60 + (parseInt(parts[2], 10) || 0);
      var from = dayStart + offset;
      var length = parseInt(download.querySelector("select[name=length]").value, 10);
      note.textContent = "";
      download.dataset.state = "running";
      post(download.dataset.url, { from: from, to: from + length,
        reason: download.querySelector("input[name=reason]").value }).then(function (answer) {
        if (!answer[0]) {
          download.dataset.state = "failed";
          note.textContent = answer[1].error || download.dataset.failed;
          return;
        }
        var url = answer[1].url;
        var poll = setInterval(function () {
          fetch(url, { credentials: "same-origin" }).then(function (response) { return response.json(); })
            .then(function (job) {
              if (job.state === "running") {
                note.textContent = download.dataset.running + " " + job.seconds;
                return;
              }
              clearInterval(poll);
              download.dataset.state = job.state;
              if (job.state !== "done") { note.textContent = job.error || download.dataset.failed; return; }
              note.textContent = download.dataset.ready + " ";
              var link = document.createElement("a");
              link.href = url + (url.indexOf("?") < 0 ? "?" : "&") + "file=1";
              link.textContent = download.dataset.save;
              link.setAttribute("download", "");
              note.appendChild(link);
            }).catch(function () { clearInterval(poll); note.textContent = download.dataset.failed; });
        }, 1000);
      }).catch(function () { download.dataset.state = "failed"; note.textContent = download.dataset.failed; });
    });
  }
})();
