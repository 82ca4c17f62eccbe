// The catalogues (i18n/<tag>.json) against the page code: every key the
// code asks for is in every catalogue, every catalogue has exactly the keys
// of en.json with the same {placeholders}, and no page key lies unused. A
// translator who adds a language by adding one file learns here what is
// missing. (The server's keys, mail.* and server.*, are the server's to
// check: this looks at the pages' prefixes only.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'web/src');
const CATALOGUES = join(ROOT, 'i18n');
const PAGE_KEY = /^(common|guest|member)\./;

async function sources(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sources(path)));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** What the code asks for: exact keys (t, tNodes, has), counted keys (tn:
 * `key.other` and the language's other plural forms) and key prefixes
 * (t(`common.error.${code}`): every key under them is used). */
async function usage() {
  const exact = new Map();
  const counted = new Map();
  const prefixes = new Set();
  for (const file of await sources(SRC)) {
    const text = await readFile(file, 'utf8');
    const where = file.slice(ROOT.length + 1);
    for (const m of text.matchAll(/\b(t|tNodes|has|tn)\(\s*'([^'\n]+)'/g)) {
      (m[1] === 'tn' ? counted : exact).set(m[2], where);
    }
    for (const m of text.matchAll(/\b(?:t|tn|has)\(\s*`([^`$\n]+)\$\{/g)) prefixes.add(m[1]);
  }
  return { exact, counted, prefixes };
}

async function catalogues() {
  const out = new Map();
  for (const name of (await readdir(CATALOGUES)).filter((n) => n.endsWith('.json')).sort()) {
    const data = JSON.parse(await readFile(join(CATALOGUES, name), 'utf8'));
    out.set(name, data);
  }
  return out;
}

const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('every key the pages use is in every catalogue', async () => {
  const { exact, counted } = await usage();
  assert.ok(exact.size > 100, `only ${exact.size} keys found: is the scan still right?`);
  const missing = [];
  for (const [name, texts] of await catalogues()) {
    for (const [key, where] of exact) if (typeof texts[key] !== 'string') missing.push(`${name}: ${key} (${where})`);
    for (const [key, where] of counted) {
      if (typeof texts[`${key}.other`] !== 'string') missing.push(`${name}: ${key}.other (${where})`);
    }
  }
  assert.deepEqual(missing, [], `keys missing from catalogues:\n${missing.join('\n')}`);
});

test('every catalogue has the keys of en.json, with the same placeholders', async () => {
  const all = await catalogues();
  const en = all.get('en.json');
  assert.ok(en, 'i18n/en.json is the reference catalogue');
  for (const [name, texts] of all) {
    assert.equal(typeof texts._name, 'string', `${name} names its language in _name`);
    const keys = Object.keys(texts).filter((k) => !k.startsWith('_'));
    for (const key of keys) assert.equal(typeof texts[key], 'string', `${name}: ${key} is not a text`);
    // Plural forms differ between languages (German has one and other,
    // Polish also few and many): only `.other` must be everywhere.
    const plural = (k) => /\.(zero|one|two|few|many)$/.test(k);
    const expected = Object.keys(en).filter((k) => !k.startsWith('_') && !plural(k));
    const have = keys.filter((k) => !plural(k));
    assert.deepEqual(
      expected.filter((k) => !have.includes(k)),
      [],
      `${name} lacks keys that en.json has`,
    );
    assert.deepEqual(
      have.filter((k) => !expected.includes(k)),
      [],
      `${name} has keys that en.json has not`,
    );
    const wrong = keys
      .filter((k) => en[k] !== undefined && placeholders(en[k]).join() !== placeholders(texts[k]).join())
      .map((k) => `${k}: {${placeholders(texts[k]).join('}, {')}} instead of {${placeholders(en[k]).join('}, {')}}`);
    assert.deepEqual(wrong, [], `${name} changes placeholders`);
  }
});

test('no page key in a catalogue is unused', async () => {
  const { exact, counted, prefixes } = await usage();
  const en = (await catalogues()).get('en.json');
  const used = (key) =>
    exact.has(key) ||
    counted.has(key.replace(/\.(zero|one|two|few|many|other)$/, '')) ||
    [...prefixes].some((p) => key.startsWith(p));
  const unused = Object.keys(en).filter((k) => PAGE_KEY.test(k) && !used(k));
  assert.deepEqual(unused, [], `keys no page code uses:\n${unused.join('\n')}`);
});
