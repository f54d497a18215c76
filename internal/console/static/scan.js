// passd staff scanner: reads a member's card with the camera (the
// vendored @zxing/library decoder), then posts the page's forms with
// fetch. Every action form carries an idempotency key made here, kept
// until the action succeeds: a double tap or a retry after a lost answer
// posts the same key, and the server records the action once.
(() => {
  'use strict';
  const root = document.getElementById('scanner');
  if (!root) return;
  const feedback = document.getElementById('scan-feedback');
  const panel = document.getElementById('member-panel');
  const lookup = document.getElementById('lookup-form');
  const words = root.dataset;

  // newKey answers a fresh idempotency key (a UUID v4).
  const newKey = () => {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };

  // arm gives every action form in scope a key made on the phone.
  const arm = (scope) => {
    for (const input of scope.querySelectorAll('input[data-key]')) input.value = newKey();
  };

  const say = (text, kind) => {
    const p = document.createElement('p');
    p.className = kind === 'error' ? 'notice' : kind === 'done' ? 'done' : 'hint';
    p.id = kind === 'error' ? 'notice' : kind === 'done' ? 'done' : 'working';
    p.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    p.textContent = text;
    feedback.replaceChildren(p);
  };

  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // send posts a form and shows the outcome. A lost answer is retried
  // with the same body (and so the same key); the key changes only once
  // the server answered that the action is done.
  const send = async (form) => {
    if (form.dataset.busy) return false;
    form.dataset.busy = '1';
    const buttons = form.querySelectorAll('button');
    buttons.forEach((b) => { b.disabled = true; });
    say(words.working, 'working');
    const body = new URLSearchParams(new FormData(form));
    try {
      for (let attempt = 1; ; attempt++) {
        let res;
        // A request the network holds too long is given up and sent
        // again: the same key makes the retry safe.
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(), 15000);
        try {
          res = await fetch(form.action, {
            method: 'POST', body, credentials: 'same-origin', signal: abort.signal,
            headers: { Accept: 'application/json' },
          });
        } catch (e) {
          if (attempt < 3) { say(words.retrying, 'working'); await pause(800 * attempt); continue; }
          say(words.offline, 'error');
          return false;
        }
        let answer = {};
        try { answer = await res.json(); } catch (e) { answer = {}; } finally { clearTimeout(timer); }
        if (res.ok) {
          panel.innerHTML = answer.panel || '';
          arm(panel);
          say(answer.message, 'done');
          const name = document.getElementById('member-name');
          if (name && form === lookup) name.scrollIntoView({ block: 'start' });
          return true;
        }
        if (answer.code === 'request_in_progress' && attempt < 3) { await pause(800 * attempt); continue; }
        if (answer.code === 'idempotency_conflict') arm(form);
        if (res.status === 401) { window.location.assign('/console/login'); return false; }
        say(answer.detail || words.failed, 'error');
        return false;
      }
    } finally {
      delete form.dataset.busy;
      buttons.forEach((b) => { b.disabled = false; });
    }
  };

  document.addEventListener('submit', (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-scan')) return;
    ev.preventDefault();
    send(form);
  });
  arm(document);

  // The camera: frames are decoded a few times a second.
  const section = document.getElementById('camera-section');
  const video = document.getElementById('camera');
  const status = document.getElementById('camera-status');
  const start = document.getElementById('camera-start');
  if (!section || !video || !window.ZXing || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  section.hidden = false;
  const Z = window.ZXing;
  const reader = new Z.MultiFormatReader();
  const hints = new Map();
  hints.set(Z.DecodeHintType.POSSIBLE_FORMATS, [Z.BarcodeFormat.QR_CODE, Z.BarcodeFormat.PDF_417, Z.BarcodeFormat.AZTEC, Z.BarcodeFormat.CODE_128]);
  hints.set(Z.DecodeHintType.TRY_HARDER, true);
  reader.setHints(hints);
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  let running = false;
  let starting = false;
  let next = 0;
  let found = '';
  let failed = '';
  let failedAt = 0;

  const decodeFrame = () => {
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (!w || !h) return null;
    const scale = Math.min(1, 960 / Math.max(w, h));
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    try {
      const source = new Z.HTMLCanvasElementLuminanceSource(canvas);
      return reader.decodeWithState(new Z.BinaryBitmap(new Z.HybridBinarizer(source))).getText();
    } catch (e) {
      return null; // no code in this frame
    } finally {
      reader.reset();
    }
  };

  const loop = async () => {
    if (!running) return;
    const text = decodeFrame();
    // A card found stays found: its code is not looked up again while
    // the cashier works on it. A code that failed is tried again after
    // a pause (a failed scan counts towards the rate limit).
    if (text && text !== found && (text !== failed || Date.now() - failedAt > 5000)) {
      lookup.elements.namedItem('barcode').value = text;
      if (await send(lookup)) {
        found = text;
      } else {
        failed = text;
        failedAt = Date.now();
      }
    }
    if (running) next = setTimeout(loop, 250);
  };

  const stopCamera = () => {
    running = false;
    clearTimeout(next);
    if (video.srcObject) video.srcObject.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  };

  const startCamera = async () => {
    if (running || starting) return;
    starting = true;
    start.hidden = true;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: false, video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      status.textContent = words.cameraOn;
      running = true;
      if (document.visibilityState !== 'visible') { stopCamera(); return; }
      loop();
    } catch (e) {
      status.textContent = words.cameraOff;
      video.hidden = true;
      start.hidden = false;
    } finally {
      starting = false;
    }
  };
  start.addEventListener('click', startCamera);
  // The camera is off while the page is not seen (another app, a locked
  // phone), and on again when it is.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') startCamera(); else stopCamera();
  });
  startCamera();
})();
