// Bundles the pages into web/dist/, which the latchkey binary embeds:
//   dist/guest.html, dist/assets/{guest.js, guest.wasm, style.css}
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
await writeFile(resolve(dist, 'sizes.txt'), lines.join('\n') + '\n');
console.log(lines.join('\n'));
