// Serves index.html and the bundle rollup writes to dist/
// on an origin of its own, as the customer's website would be (see ../shared/static-site.mjs):
//
//   node serve.mjs                                    # http://127.0.0.1:5182/, talking to the demo server
//   BECKON_URL=https://beckon.example.net node serve.mjs
import { fileURLToPath } from 'node:url';
import { serveFromCommandLine, serveSite } from '../shared/static-site.mjs';

export { DEMO_BECKON_URL } from '../shared/static-site.mjs';

const PORT = 5182;

/** Starts this example's site; `port` 0 picks a free one. Resolves to `{ url, close() }`. */
export function serveExample(options = {}) {
  return serveSite({ root: fileURLToPath(new URL('.', import.meta.url)), assets: 'dist', port: PORT, ...options });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await serveFromCommandLine(serveExample, PORT);
