// Prints the widget's CDN bundle sizes and fails when one is over budget (run by `npm test`).
import { readFileSync } from 'node:fs';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const BUDGET_GZIP = 12 * 1024;
const files = ['packages/widget/cdn/call-us-button.js', 'packages/widget/cdn/call-us-button.iife.js'];

let over = false;
console.log('widget bundle           raw        gzip       brotli     budget (gzip)');
for (const file of files) {
  const source = readFileSync(file);
  const gzip = gzipSync(source, { level: 9 }).length;
  const brotli = brotliCompressSync(source, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  const kb = (bytes) => `${(bytes / 1024).toFixed(2)} KB`.padEnd(11);
  const ok = gzip <= BUDGET_GZIP;
  over ||= !ok;
  console.log(
    `${file.split('/').pop().padEnd(24)}${kb(source.length)}${kb(gzip)}${kb(brotli)}${ok ? 'ok' : 'OVER'} (${kb(BUDGET_GZIP).trim()})`,
  );
}
if (over) {
  console.error('A widget bundle is over its 12 KB gzip budget.');
  process.exitCode = 1;
}
