// Prints the widget's CDN bundle sizes and fails when one is over its budget (run by `npm test`).
import { readFileSync } from 'node:fs';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const KB = 1024;
/**
 * Gzip budgets: each bundle carries its own copy of Lit (≈5.6 KB gzip of each). The button's is 14 KB
 * (issue 17): opening hours and the country picker, with no phone metadata (the server sends the id's).
 */
const budgets = {
  'packages/widget/cdn/call-us-button.js': 14 * KB,
  'packages/widget/cdn/call-us-button.iife.js': 14 * KB,
  'packages/widget/cdn/call-popup.js': 12 * KB,
};

const kb = (bytes) => `${(bytes / KB).toFixed(2)} KB`.padEnd(11);
const over = [];
console.log('widget bundle           raw        gzip       brotli     budget (gzip)');
for (const [file, budget] of Object.entries(budgets)) {
  const source = readFileSync(file);
  const gzip = gzipSync(source, { level: 9 }).length;
  const brotli = brotliCompressSync(source, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  const name = file.split('/').pop();
  if (gzip > budget) over.push(`${name} (${kb(gzip).trim()} > ${kb(budget).trim()})`);
  console.log(`${name.padEnd(24)}${kb(source.length)}${kb(gzip)}${kb(brotli)}${gzip <= budget ? 'ok' : 'OVER'} (${kb(budget).trim()})`);
}
if (over.length > 0) {
  console.error(`Over the gzip budget: ${over.join(', ')}.`);
  process.exitCode = 1;
}
