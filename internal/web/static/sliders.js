// backchannel: a slider beside each number field of the preferences form.
// The number field is the form's value (and works without this script);
// the slider, shown only when this script runs, moves it and follows it.
// Weights and scores are relative, so the sliders share one scale, the
// smallest of 1, 10 or 100 (or more) that holds every value; the reserved
// value is a utility, from 0 to 1.
(function () {
  "use strict";
  var sliders = Array.prototype.slice.call(document.querySelectorAll("input.slider[data-for]"));
  var top = 0;
  sliders.forEach(function (s) {
    var f = document.getElementById(s.dataset.for);
    var v = f ? parseFloat(f.value) : NaN;
    if (f && f.name !== "reserved" && !isNaN(v) && v > top) {
      top = v;
    }
  });
  var scale = top <= 1 ? 1 : top <= 10 ? 10 : Math.max(100, Math.ceil(top));
  sliders.forEach(function (slider) {
    var field = document.getElementById(slider.dataset.for);
    if (!field) {
      return;
    }
    var max = field.name === "reserved" ? 1 : scale;
    slider.max = String(max);
    slider.step = String(max / 100);
    function follow() {
      var v = parseFloat(field.value);
      if (!isNaN(v)) {
        if (v > parseFloat(slider.max)) {
          slider.max = String(Math.ceil(v));
        }
        slider.value = String(v);
      }
    }
    follow();
    slider.hidden = false;
    slider.addEventListener("input", function () {
      field.value = slider.value;
    });
    field.addEventListener("input", follow);
  });
})();
