// The gate page: a handheld ID reader types the number and presses Enter — move on to
// the name instead of sending a half-filled form; scan an invitation QR with the camera
// where the browser can (BarcodeDetector), else the guard's scanner types the code.
(function () {
  "use strict";
  var number = document.getElementById("id_document_number");
  var name = document.getElementById("id_name");
  if (number && name) {
    number.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); name.focus(); }
    });
  }
  var button = document.getElementById("scan-qr");
  var video = document.getElementById("qr-video");
  var token = document.getElementById("id_token");
  if (!button || !video || !token || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream; video.hidden = false; video.play();
      var look = function () {
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            token.value = codes[0].rawValue;
            stream.getTracks().forEach(function (t) { t.stop(); });
            video.hidden = true;
            token.form.submit();
          } else { window.requestAnimationFrame(look); }
        }).catch(function () { window.requestAnimationFrame(look); });
      };
      look();
    });
  });
})();
