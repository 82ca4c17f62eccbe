// Loads one bundle (?bundle=guest|member|testkit) and exposes it as
// window.latchkey for the test to drive.
const bundle = new URLSearchParams(location.search).get('bundle') ?? 'guest';
const mod = await import(`/pkg/${bundle}/latchkey_wasm.js`);
await mod.default();
window.latchkey = mod;
document.getElementById('status').textContent = `ready: ${bundle}`;
