// backchannel: a button with data-print prints the page (the agreed text).
// An inline handler would break the Content-Security-Policy; the listener
// is on the document, so a button that a live update brings in works too.
document.addEventListener("click", function (ev) {
  if (ev.target instanceof Element && ev.target.closest("[data-print]")) {
    window.print();
  }
});
