// Bundles the pages into web/dist/, which the latchkey binary embeds:
//   dist/guest.html, dist/assets/{guest.js, guest.wasm, style.css}
//   dist/member.html, dist/assets/{member.js, member-worker.js, member.wasm}
// The guest page loads no member code: only the member's worker loads the
// member bundle (OPAQUE, identity and recovery keys).
// Needs the WebAssembly bundles from scripts/build-wasm (target/wasm/).
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { resolve } from 'node:path';

const web = import.meta.dirname;
const wasm = resolve(web, '../target/wasm');
const dist = resolve(web, 'dist');

await rm(dist, { recursive: true, force: true });
await mkdir(resolve(dist, 'assets'), { recursive: true });

// Both bundles: one ES module per entry, minified, for today's browsers.
const common = {
  outdir: resolve(dist, 'assets'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: { guest: resolve(web, 'src/guest/main.ts') },
  alias: { 'latchkey-wasm-guest': resolve(wasm, 'guest/latchkey_wasm.js') },
});
await copyFile(resolve(wasm, 'guest/latchkey_wasm_bg.wasm'), resolve(dist, 'assets/guest.wasm'));

// The member's pages and their Web Worker (the only code that loads the
// member WebAssembly bundle and holds keys).
await build({
  ...common,
  entryPoints: {
    member: resolve(web, 'src/member/main.ts'),
    'member-worker': resolve(web, 'src/member/worker/main.ts'),
  },
  alias: { 'latchkey-wasm-member': resolve(wasm, 'member/latchkey_wasm.js') },
});
await copyFile(resolve(wasm, 'member/latchkey_wasm_bg.wasm'), resolve(dist, 'assets/member.wasm'));
await copyFile(resolve(web, 'pages/member.html'), resolve(dist, 'member.html'));
// Minified like the scripts: comments and spaces cost the guest page bytes.
await build({ ...common, entryPoints: { style: resolve(web, 'src/style.css') } });
await copyFile(resolve(web, 'pages/guest.html'), resolve(dist, 'guest.html'));

// What each kind of page transfers, gzip -9 (the server's gzip comes within
// a few hundred bytes of it).
const gzipSize = async (f) => gzipSync(await readFile(resolve(dist, f)), { level: 9 }).length;
const lines = [];
async function total(label, files, listed) {
  let sum = 0;
  for (const f of files) {
    const gz = await gzipSize(f);
    sum += gz;
    if (listed(f)) lines.push(`${f}: ${gz} B gzip`);
  }
  lines.push(`${label} total: ${sum} B gzip`);
}
await total('guest link page', ['guest.html', 'assets/guest.js', 'assets/guest.wasm', 'assets/style.css'], () => true);
await total(
  'member pages',
  ['member.html', 'assets/member.js', 'assets/member-worker.js', 'assets/member.wasm', 'assets/style.css'],
  (f) => f !== 'assets/style.css',
);
await writeFile(resolve(dist, 'sizes.txt'), lines.join('\n') + '\n');
console.log(lines.join('\n'));
