// The Subresource Integrity hashes of the widget's CDN bundles (sha384, as <script integrity> takes them),
// and the CDN lines that carry them in the widget README and the root README's quick start. Run by the
// build's prepack and by `npm test`:
//   node scripts/cdn-integrity.mjs           prints the hashes
//   node scripts/cdn-integrity.mjs --write   rewrites each README's lines between its cdn markers
//   node scripts/cdn-integrity.mjs --check   fails when a README's hashes are not the built bundles'
// The bundles are deterministic (rollup and terser, pinned), so a hash in the README is the one the
// published file of this version has: a page pinning it loads exactly that file or nothing.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const WIDGET = 'packages/widget';
const READMES = [`${WIDGET}/README.md`, 'README.md'];
const { name, version } = JSON.parse(readFileSync(`${WIDGET}/package.json`, 'utf8'));
const BUNDLES = ['cdn/call-us-button.js', 'cdn/call-popup.js'];
const START = '<!-- cdn:start (scripts/cdn-integrity.mjs --write) -->';
const END = '<!-- cdn:end -->';

const integrity = (file) =>
  `sha384-${createHash('sha384')
    .update(readFileSync(`${WIDGET}/${file}`))
    .digest('base64')}`;
const hashes = Object.fromEntries(BUNDLES.map((file) => [file, integrity(file)]));

const block = [
  START,
  '```html',
  ...BUNDLES.map(
    (file) =>
      `<script type="module" src="https://cdn.jsdelivr.net/npm/${name}@${version}/${file}"\n        integrity="${hashes[file]}" crossorigin="anonymous"></script>`,
  ),
  '```',
  END,
].join('\n');

const mode = process.argv[2];
for (const README of mode === '--write' || mode === '--check' ? READMES : []) {
  const readme = readFileSync(README, 'utf8');
  const at = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (at < 0 || end < at) throw new Error(`${README} has no ${START} … ${END} block`);
  const current = readme.slice(at, end + END.length);
  if (mode === '--write') {
    writeFileSync(README, readme.slice(0, at) + block + readme.slice(end + END.length));
    console.log(`${README}: CDN lines written for ${name}@${version}`);
  } else if (current !== block) {
    console.error(`${README}: the CDN lines' integrity or version is not the built bundles' — run node scripts/cdn-integrity.mjs --write`);
    process.exitCode = 1;
  } else console.log(`${README}: CDN integrity matches the built bundles`);
}
if (mode !== '--write' && mode !== '--check') {
  for (const [file, hash] of Object.entries(hashes)) console.log(`${name}@${version}/${file}  ${hash}`);
}
