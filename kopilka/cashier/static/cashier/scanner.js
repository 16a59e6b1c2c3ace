/* Касса: the camera scanner (BarcodeDetector where the browser has it, ZXing otherwise) and the
 * check's item list (an Alpine component). Everything else on the page is htmx. */
(function () {
  "use strict";

  const FORMATS = ["qr_code", "code_128", "ean_13", "ean_8", "pdf417", "upc_a", "upc_e", "code_39", "itf"];
  let zxingLoading = null;

  function root() {
    return document.querySelector("[data-testid=cashier]");
  }

  function loadZxing() {
    if (window.ZXingBrowser) return Promise.resolve(window.ZXingBrowser);
    if (!zxingLoading) {
      zxingLoading = new Promise(function (resolve, reject) {
        const script = document.createElement("script");
        script.src = root().dataset.zxingUrl;
        script.onload = function () { resolve(window.ZXingBrowser); };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return zxingLoading;
  }

  async function nativeDetector() {
    if (!("BarcodeDetector" in window)) return null;
    try {
      const supported = await window.BarcodeDetector.getSupportedFormats();
      const formats = FORMATS.filter(function (f) { return supported.includes(f); });
      return formats.length ? new window.BarcodeDetector({ formats: formats }) : null;
    } catch (e) {
      return null;
    }
  }

  /* Open the camera overlay; resolves with the decoded text, or null when closed. */
  async function scan() {
    const overlay = document.querySelector("[data-scanner]");
    const video = overlay.querySelector("[data-scanner-video]");
    const status = overlay.querySelector("[data-scanner-status]");
    const closeButton = overlay.querySelector("[data-scanner-close]");
    overlay.classList.remove("d-none");
    let stream = null;
    let controls = null;
    let done = false;

    return new Promise(async function (resolve) {
      function finish(text) {
        if (done) return;
        done = true;
        if (controls) controls.stop();
        if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
        video.srcObject = null;
        overlay.classList.add("d-none");
        resolve(text);
      }
      closeButton.onclick = function () { finish(null); };
      try {
        const detector = await nativeDetector();
        if (detector) {
          stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
          video.srcObject = stream;
          await video.play();
          const tick = async function () {
            if (done) return;
            try {
              const codes = await detector.detect(video);
              if (codes.length && codes[0].rawValue) return finish(codes[0].rawValue);
            } catch (e) { /* a frame not ready yet */ }
            window.setTimeout(tick, 150);
          };
          tick();
        } else {
          const ZX = await loadZxing();
          const reader = new ZX.BrowserMultiFormatReader();
          controls = await reader.decodeFromConstraints(
            { video: { facingMode: "environment" }, audio: false }, video,
            function (result) { if (result) finish(result.getText()); }
          );
        }
      } catch (e) {
        status.textContent = (e && e.message) || String(e);
        window.setTimeout(function () { finish(null); }, 2500);
      }
    });
  }

  function checkForm() {
    return document.getElementById("check-form");
  }

  function requote() {
    const form = checkForm();
    if (form && window.htmx) window.htmx.trigger(form, "quote");
  }

  window.cashierScan = scan;

  window.cashierSetRedeem = function (value) {
    const input = document.querySelector("#check-form [name=redeem_points]");
    if (!input) return;
    input.value = value;
    requote();
  };

  window.cashierAddCoupon = function (code) {
    const input = document.querySelector("#check-form [name=coupons]");
    if (!input) return;
    const codes = input.value.split(/[\s,;]+/).filter(Boolean);
    if (!codes.includes(code)) codes.push(code);
    input.value = codes.join(", ");
    requote();
  };

  /* The check's items: product search, barcode scan, quantities. */
  window.cashierCheck = function () {
    return {
      query: "",
      results: [],
      notFound: false,
      items: [],
      async lookup(q) {
        const url = root().dataset.productsUrl + "?q=" + encodeURIComponent(q);
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok) return [];
        return (await response.json()).products;
      },
      async search(exact) {
        const q = this.query.trim();
        if (!q) { this.results = []; this.notFound = false; return; }
        const found = await this.lookup(q);
        this.notFound = found.length === 0;
        if (exact && found.length === 1) { this.add(found[0]); return; }
        this.results = found;
      },
      async scanProduct() {
        const code = await scan();
        if (!code) return;
        this.query = code;
        await this.search(true);
      },
      add(product) {
        const existing = this.items.find(function (it) { return it.sku === product.sku; });
        if (existing) existing.quantity = String(Number(existing.quantity || 0) + 1);
        else this.items.push({ sku: product.sku, name: product.name, price: product.price, quantity: "1" });
        this.query = "";
        this.results = [];
        this.notFound = false;
        this.$nextTick(requote);
      },
      remove(index) {
        this.items.splice(index, 1);
        this.$nextTick(requote);
      },
    };
  };

  /* Buttons with data-scan-into="#input" fill the input from the camera (and submit its form). */
  document.addEventListener("click", async function (event) {
    const button = event.target.closest("[data-scan-into]");
    if (!button) return;
    event.preventDefault();
    const text = await scan();
    if (!text) return;
    const input = document.querySelector(button.dataset.scanInto);
    input.value = text;
    if (button.hasAttribute("data-scan-submit")) input.form.requestSubmit();
  });
})();
