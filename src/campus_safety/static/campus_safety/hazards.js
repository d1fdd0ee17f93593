/* Hazard pages: the report form shows the fields of the kind chosen (inside the campus:
   key area and facility; around it: trouble-spot kind, location, distance), fills in
   the phone's position on request, previews the photos chosen; the hazard page shows
   the assignment fields for the responsible party chosen. No inline script (CSP). */
(function () {
  "use strict";

  function toggleKind(form) {
    var checked = form.querySelector("input[name=kind]:checked");
    var kind = checked ? checked.value : "internal";
    form.querySelectorAll("[data-kind]").forEach(function (node) {
      node.hidden = node.dataset.kind !== kind;
    });
  }

  function toggleSource(form) {
    var source = form.querySelector("select[name=source]");
    form.querySelectorAll("[data-source]").forEach(function (node) {
      node.hidden = !source || node.dataset.source !== source.value;
    });
  }

  function toggleResponsible(form) {
    var select = form.querySelector("select[name=responsible_kind]");
    form.querySelectorAll("[data-responsible]").forEach(function (node) {
      node.hidden = !select || node.dataset.responsible !== select.value;
    });
  }

  function locate(button) {
    var form = button.form;
    var status = document.getElementById("locate-status");
    if (!navigator.geolocation) {
      status.textContent = button.dataset.unsupported;
      return;
    }
    status.textContent = button.dataset.locating;
    navigator.geolocation.getCurrentPosition(function (position) {
      form.elements.longitude.value = position.coords.longitude.toFixed(6);
      form.elements.latitude.value = position.coords.latitude.toFixed(6);
      status.textContent = position.coords.latitude.toFixed(5) + ", " +
        position.coords.longitude.toFixed(5) + " (±" + Math.round(position.coords.accuracy) + " m)";
    }, function (error) {
      status.textContent = button.dataset.failed + " (" + error.message + ")";
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function preview(input) {
    var box = document.getElementById(input.dataset.preview);
    if (!box) { return; }
    box.textContent = "";
    Array.prototype.forEach.call(input.files || [], function (file) {
      if (!/^image\//.test(file.type)) { return; }
      var img = document.createElement("img");
      img.alt = file.name;
      img.src = URL.createObjectURL(file);
      img.onload = function () { URL.revokeObjectURL(img.src); };
      box.appendChild(img);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var report = document.getElementById("hazard-report");
    if (report) {
      toggleKind(report);
      toggleSource(report);
      report.addEventListener("change", function (event) {
        if (event.target.name === "kind") { toggleKind(report); }
        if (event.target.name === "source") { toggleSource(report); }
      });
    }
    document.querySelectorAll("form[data-assign]").forEach(function (form) {
      toggleResponsible(form);
      form.addEventListener("change", function () { toggleResponsible(form); });
    });
    document.querySelectorAll("input[type=file][data-preview]").forEach(function (input) {
      input.addEventListener("change", function () { preview(input); });
    });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-locate]");
    if (button) { event.preventDefault(); locate(button); }
  });
})();
