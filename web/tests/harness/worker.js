// Runs the OPAQUE vector (both halves, two Argon2id runs) inside a Web
// Worker, as the member's page will, and reports how long it took.
import init, { runVectors } from '/pkg/testkit/latchkey_wasm.js';

self.onmessage = async () => {
  try {
    await init();
    const text = await (await fetch('/vectors/opaque.json')).text();
    const t0 = performance.now();
    const cases = runVectors('opaque', text);
    self.postMessage({ ok: true, cases, ms: performance.now() - t0 });
  } catch (e) {
    self.postMessage({ ok: false, error: String(e) });
  }
};
