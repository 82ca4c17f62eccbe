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

await build({
  entryPoints: { guest: resolve(web, 'src/guest/main.ts') },
  outdir: resolve(dist, 'assets'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  alias: { 'latchkey-wasm-guest': resolve(wasm, 'guest/latchkey_wasm.js') },
  logLevel: 'warning',
});
await copyFile(resolve(wasm, 'guest/latchkey_wasm_bg.wasm'), resolve(dist, 'assets/guest.wasm'));

// The member's pages and their Web Worker (the only code that loads the
// member WebAssembly bundle and holds keys).
await build({
  entryPoints: {
    member: resolve(web, 'src/member/main.ts'),
    'member-worker': resolve(web, 'src/member/worker.ts'),
  },
  outdir: resolve(dist, 'assets'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  alias: { 'latchkey-wasm-member': resolve(wasm, 'member/latchkey_wasm.js') },
  logLevel: 'warning',
});
await copyFile(resolve(wasm, 'member/latchkey_wasm_bg.wasm'), resolve(dist, 'assets/member.wasm'));
await copyFile(resolve(web, 'pages/member.html'), resolve(dist, 'member.html'));
await copyFile(resolve(web, 'src/style.css'), resolve(dist, 'assets/style.css'));
await copyFile(resolve(web, 'pages/guest.html'), resolve(dist, 'guest.html'));

// What a guest's browser transfers for the link page, gzip -9.
const files = ['guest.html', 'assets/guest.js', 'assets/guest.wasm', 'assets/style.css'];
let total = 0;
const lines = [];
for (const f of files) {
  const gz = gzipSync(await readFile(resolve(dist, f)), { level: 9 }).length;
  total += gz;
  lines.push(`${f}: ${gz} B gzip`);
}
lines.push(`guest link page total: ${total} B gzip`);

// What a member's browser transfers for the member pages (page + worker).
const memberFiles = ['member.html', 'assets/member.js', 'assets/member-worker.js', 'assets/member.wasm', 'assets/style.css'];
let memberTotal = 0;
for (const f of memberFiles) {
  const gz = gzipSync(await readFile(resolve(dist, f)), { level: 9 }).length;
  memberTotal += gz;
  if (f !== 'assets/style.css') lines.push(`${f}: ${gz} B gzip`);
}
lines.push(`member pages total: ${memberTotal} B gzip`);
await writeFile(resolve(dist, 'sizes.txt'), lines.join('\n') + '\n');
console.log(lines.join('\n'));
