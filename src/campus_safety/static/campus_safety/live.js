/* CampusLive — the consoles' client for GET /live/stream (docs/events.md "Live stream").
 *
 *   const live = CampusLive.connect({ onEvent: (name, data) => ... });
 *   document.addEventListener("campus-live", (e) => e.detail);  // same messages as DOM events
 *   live.close();
 *
 * EventSource reconnects by itself (sending Last-Event-ID) after network drops and when the
 * server ends a stream; this wrapper also reopens after a refused or broken connection, with
 * backoff, carrying the last id as ?since= so nothing visible is missed. It listens for the
 * event names the server announces in its first "live.hello" frame.
 */
(function (global) {
  "use strict";

  function connect(options) {
    const opts = Object.assign(
      { url: "/live/stream", target: document, onEvent: null, onGap: null, maxBackoffMs: 30000 },
      options || {}
    );
    let source = null;
    let lastId = null;
    let backoff = 1000;
    let timer = null;
    let closed = false;
    const names = new Set();

    function emit(name, data) {
      opts.target.dispatchEvent(new CustomEvent("campus-live", { detail: { name, data } }));
      if (opts.onEvent) opts.onEvent(name, data);
    }

    function onMessage(event) {
      if (event.lastEventId) lastId = event.lastEventId;
      backoff = 1000;
      let data = null;
      try { data = JSON.parse(event.data); } catch (err) { return; }
      if (event.type === "live.gap" && opts.onGap) opts.onGap(data);
      emit(event.type, data);
    }

    function listen(name) {
      if (names.has(name)) return;
      names.add(name);
      source.addEventListener(name, onMessage);
    }

    function open() {
      if (closed) return;
      const url = lastId ? opts.url + (opts.url.includes("?") ? "&" : "?") +
        "since=" + encodeURIComponent(lastId) : opts.url;
      source = new EventSource(url, { withCredentials: true });
      names.clear();
      source.addEventListener("live.hello", function (event) {
        backoff = 1000;
        JSON.parse(event.data).events.forEach(listen);
      });
      source.onerror = function () {
        if (source.readyState !== EventSource.CLOSED) return;  // the browser retries itself
        timer = setTimeout(open, backoff);                      // refused: we retry, slower
        backoff = Math.min(backoff * 2, opts.maxBackoffMs);
      };
    }

    open();
    return {
      close: function () {
        closed = true;
        clearTimeout(timer);
        if (source) source.close();
      },
      get lastEventId() { return lastId; },
    };
  }

  global.CampusLive = { connect: connect };
})(window);
