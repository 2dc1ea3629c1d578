// backchannel: live pages. The server renders every page; this file only
// follows the talk's event stream and asks htmx to refresh the parts of the
// page that an event changes.
//
// A page that follows a talk has <body data-talk="ID" data-head="SEQ">. Each
// live region carries data-live="type type ..." (event types, or "*"), an
// optional data-track="ID" (only events of that track, or talk-wide ones),
// and hx-get / hx-trigger="refresh" to reload itself. EventSource reconnects
// by itself and resends Last-Event-ID, so the server replays what was
// missed; after a reconnect every region refreshes once anyway. A page of a
// track has data-require-track="ID": its stream is bound to that track, and
// the server ends it, and refuses the next, once the reader may no longer
// see the track.
(function () {
  "use strict";

  var body = document.body;

  // htmx sends the CSRF token with every request it makes.
  body.addEventListener("htmx:configRequest", function (ev) {
    var tok = body.dataset.csrf;
    if (tok) {
      ev.detail.headers["X-CSRF-Token"] = tok;
    }
  });

  // A page follows its talk's stream, or else a stream of the user's own
  // (data-stream: My talks follows the list of the user's talks, whose
  // events are whole lists, with no id).
  var talk = body.dataset.talk;
  var own = body.dataset.stream;
  if ((!talk && !own) || !window.EventSource) {
    return;
  }

  var pending = new Set();
  var timer = null;

  function refresh(el) {
    pending.add(el);
    if (timer === null) {
      // Coalesce a burst of events into one request per region.
      timer = setTimeout(function () {
        timer = null;
        var els = Array.from(pending);
        pending.clear();
        els.forEach(function (e) {
          if (document.body.contains(e)) {
            // Not bubbling: a region inside another (the counter form's
            // button inside its form) must not refresh the outer one,
            // which would replace what was typed.
            e.dispatchEvent(new CustomEvent("refresh", { bubbles: false }));
          }
        });
      }, 30);
    }
  }

  function matches(el, type, track) {
    var types = (el.dataset.live || "").split(/\s+/);
    if (types.indexOf("*") < 0 && types.indexOf(type) < 0) {
      return false;
    }
    var want = el.dataset.track;
    return !want || !track || String(track) === want;
  }

  function setStatus(state, text) {
    var s = document.getElementById("live-status");
    if (s) {
      s.dataset.state = state;
      s.textContent = text;
    }
  }

  var source = null;
  var lost = false;

  function onEvent(ev) {
    var e;
    try {
      e = JSON.parse(ev.data);
    } catch (err) {
      return;
    }
    if (typeof e.id === "number") {
      body.dataset.head = String(e.id);
    }
    document.querySelectorAll("[data-live]").forEach(function (el) {
      if (matches(el, ev.type, e.track_id)) {
        refresh(el);
      }
    });
    document.dispatchEvent(new CustomEvent("bc:event", { detail: e }));
  }

  // The event types to listen to: every event type arrives as a named SSE
  // event, and EventSource has no wildcard listener.
  var types = {};
  (body.dataset.events || "").split(/\s+/).filter(Boolean).forEach(function (t) { types[t] = true; });
  document.querySelectorAll("[data-live]").forEach(function (el) {
    (el.dataset.live || "").split(/\s+/).forEach(function (t) {
      if (t && t !== "*") {
        types[t] = true;
      }
    });
  });

  // connect opens the stream from the last event this page has seen.
  function connect() {
    var url = own;
    if (talk) {
      url = "/api/v1/talks/" + encodeURIComponent(talk) + "/events?after=" + encodeURIComponent(body.dataset.head || "0");
      if (body.dataset.requireTrack) {
        url += "&require_track=" + encodeURIComponent(body.dataset.requireTrack);
      }
    }
    source = new EventSource(url);
    source.onopen = function () {
      setStatus("live", "Live");
      // A stream of the user's own sends its whole state at once, which
      // refreshes what changed while the page was away.
      if (lost && talk) {
        lost = false;
        document.querySelectorAll("[data-live]").forEach(refresh);
      }
    };
    source.onerror = function () {
      lost = true;
      setStatus("lost", "Reconnecting…");
      if (source && source.readyState === EventSource.CLOSED) {
        // The server refused the stream itself: the browser will not try
        // again. If the page is gone too (the member was taken off the
        // talk or the track, or signed out), reload it, so that what the
        // member may no longer see leaves the screen; else say the page is
        // offline.
        closed();
      }
    };
    Object.keys(types).forEach(function (t) { source.addEventListener(t, onEvent); });
    // The server's last event on a stream whose talk, or track, the member
    // may no longer see: do not wait for the reconnect to be refused.
    source.addEventListener("gone", function () {
      source.close();
      setStatus("lost", "Reconnecting…");
      closed();
    });
  }
  connect();

  // A page that is being left (a form posted, a link followed) must not
  // reload itself, which would cancel the navigation: leaving a back-channel
  // from its own page ends that page's stream while the browser is on its
  // way to the talk's page. If the page is still here a while later (the
  // link was a download), it checks again.
  var leaving = false;
  window.addEventListener("beforeunload", function () {
    leaving = true;
    setTimeout(function () { leaving = false; }, 2000);
  });

  function closed() {
    if (leaving) {
      setTimeout(closed, 2500);
      return;
    }
    fetch(location.href, { method: "HEAD", credentials: "same-origin", redirect: "manual" }).then(function (res) {
      if (res.status === 404 || res.status === 401 || res.status === 403 || res.type === "opaqueredirect") {
        location.reload();
      } else {
        setStatus("lost", "Offline: reload the page");
      }
    }, function () {
      setStatus("lost", "Offline: reload the page");
    });
  }

  // A page that the browser keeps in its back/forward cache must not keep
  // its stream open: a browser allows only a few connections per host, and
  // frozen pages holding them would stall every later page. Close it when
  // the page is hidden and reopen it, catching up, if the page comes back.
  window.addEventListener("pagehide", function () {
    if (source) {
      source.close();
      source = null;
    }
  });
  window.addEventListener("pageshow", function (ev) {
    if (ev.persisted && !source) {
      lost = true;
      connect();
    }
  });
})();
