// Serves this example's page on its own origin, as the customer's website would be. The page must not
// share an origin with the Beckon server: the real embed is always cross-origin (CORS, CSP, cookies).
//
//   node serve.mjs                                    # http://127.0.0.1:5181/, buttons talk to the demo server
//   BECKON_URL=https://beckon.example.net node serve.mjs
//
// index.html names the demo server (`npm start` at the repository root, http://127.0.0.1:5100), as a
// site owner's page names their Beckon server. With BECKON_URL set, that origin is swapped for another
// one as the page is served — which is how the test points the same page at its own server.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

/** The Beckon server index.html is written for: the repository's demo server. */
export const DEMO_BECKON_URL = 'http://127.0.0.1:5100';
const DEFAULT_PORT = 5181;
const PAGE = new URL('./index.html', import.meta.url);

/**
 * Starts the page's server. `port` 0 picks a free one. Resolves to `{ url, close() }`.
 * @param {{ port?: number, host?: string, beckonUrl?: string }} [options]
 */
export async function serveExample({ port = DEFAULT_PORT, host = '127.0.0.1', beckonUrl = DEMO_BECKON_URL } = {}) {
  const origin = beckonUrl.replace(/\/+$/, '');
  const server = createServer(async (request, response) => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (pathname === '/favicon.ico') {
      // Browsers ask every origin for one; "no content" keeps their console free of 404s.
      response.writeHead(204).end();
      return;
    }
    if (pathname !== '/' && pathname !== '/index.html') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    try {
      // Read on every request, so edits to index.html show on reload.
      const html = (await readFile(PAGE, 'utf8')).replaceAll(DEMO_BECKON_URL, origin);
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : html);
    } catch (error) {
      response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const site = await serveExample({
    port: process.env.PORT ? Number(process.env.PORT) : DEFAULT_PORT,
    beckonUrl: process.env.BECKON_URL || DEMO_BECKON_URL,
  });
  console.log(`Example page: ${site.url}  (Beckon server: ${process.env.BECKON_URL || DEMO_BECKON_URL})`);
}
