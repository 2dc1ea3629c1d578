// backchannel: a button with data-print prints the page (the agreed text);
// an inline handler would break the Content-Security-Policy.
document.querySelectorAll("[data-print]").forEach(function (b) {
  b.addEventListener("click", function () { window.print(); });
});
