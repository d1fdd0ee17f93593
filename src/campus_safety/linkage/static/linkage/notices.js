/* Linkage notices on the live stream (docs/linkage.md "Notices", docs/events.md).
 *
 * notice.published (one per send, addressed to its schools alone) refreshes the safety-
 * warning banner (#linkage-warnings) at once; notice.receipt, notice.relay (a unit read
 * or forwarded; addressed to the senders up the chain) and notice.reminder refresh a
 * list that asks for them with data-linkage-live="…" (and data-notice-id, if only one
 * notice's receipts or chain matter: the payload's notice_ids hold the notices above). The page's alarm console already holds a stream for alarm
 * readers; other users get one of their own. Messages arrive as "campus-live" DOM
 * events (live.js), whoever opened the stream.
 */
(function () {
  "use strict";

  function withParam(url, key, value) {
    return url + (url.indexOf("?") < 0 ? "?" : "&") + key + "=" + encodeURIComponent(value);
  }

  function refreshBanner(eventId) {
    var banner = document.getElementById("linkage-warnings");
    if (!banner || !window.htmx) { return; }
    // A fresh address: the banner is cached for a minute between pages.
    var url = withParam(banner.getAttribute("hx-get"), "v", eventId || Date.now());
    window.htmx.ajax("GET", url, { target: banner, swap: "innerHTML" });
  }

  function refreshLists(name, payload) {
    var nodes = document.querySelectorAll('[data-linkage-live~="' + name + '"]');
    Array.prototype.forEach.call(nodes, function (node) {
      var only = node.getAttribute("data-notice-id");
      // notice_ids: the notice and those it was forwarded from (a change down the
      // chain moves every chain view above it)
      var ids = (payload.notice_ids || [payload.notice_id]).map(String);
      if (only && ids.indexOf(only) < 0) { return; }
      if (!node.id || !window.htmx) { return; }
      window.htmx.ajax("GET", window.location.pathname + window.location.search, {
        target: node, select: "#" + node.id, swap: "outerHTML"
      });
    });
  }

  function onLive(name, data) {
    var payload = (data && data.payload) || {};
    if (name === "notice.published") {
      if (payload.kind === "warning") { refreshBanner(data.id); }
      refreshLists(name, payload);
    } else if (name === "notice.receipt" || name === "notice.relay" ||
               name === "notice.reminder") {
      refreshLists(name, payload);
    } else if (name === "live.gap") {
      refreshBanner();
    }
  }

  document.addEventListener("campus-live", function (event) {
    onLive(event.detail.name, event.detail.data);
  });

  document.addEventListener("DOMContentLoaded", function () {
    // An alarm reader's page connects already (alarm_console.js); one stream a page.
    if (!document.getElementById("alarm-banner") && window.CampusLive) {
      window.CampusLive.connect({});
    }
  });
})();
