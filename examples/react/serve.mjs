// Serves this example on its own origin, as the customer's website would be: index.html and the
// bundle build.mjs writes to dist/. The page must not share an origin with the Beckon server: the real
// embed is always cross-origin (CORS, no cookies).
//
//   npm run build && node serve.mjs                   # http://127.0.0.1:5183/, the app talks to the demo server
//   BECKON_URL=https://beckon.example.net node serve.mjs
//
// index.html names the demo server (`npm start` at the repository root, http://127.0.0.1:5100) for
// the app to pass to the element as its endpoint. With BECKON_URL set, that origin is swapped for another one as the page is
// served — which is how the test points the same page at its own server.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Beckon server index.html is written for: the repository's demo server. */
export const DEMO_BECKON_URL = 'http://127.0.0.1:5100';
const DEFAULT_PORT = 5183;
const ROOT = fileURLToPath(new URL('.', import.meta.url));
const DIST = resolve(ROOT, 'dist');
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** index.html, or a file under dist/; anything else (sources, node_modules, ../) is not served. */
function fileFor(pathname) {
  if (pathname === '/' || pathname === '/index.html') return resolve(ROOT, 'index.html');
  // resolve() folds away any `..`, so a path that still lies under dist/ cannot escape it.
  const file = resolve(ROOT, `.${decodeURIComponent(pathname)}`);
  return file.startsWith(DIST + sep) ? file : undefined;
}

/**
 * Starts the page's server. `port` 0 picks a free one. Resolves to `{ url, close() }`.
 * @param {{ port?: number, host?: string, beckonUrl?: string }} [options]
 */
export async function serveExample({ port = DEFAULT_PORT, host = '127.0.0.1', beckonUrl = DEMO_BECKON_URL } = {}) {
  const origin = beckonUrl.replace(/\/+$/, '');
  const server = createServer(async (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let pathname;
    try {
      pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
      decodeURIComponent(pathname);
    } catch {
      response.writeHead(400).end();
      return;
    }
    if (pathname === '/favicon.ico') {
      // Browsers ask every origin for one; "no content" keeps their console free of 404s.
      response.writeHead(204).end();
      return;
    }
    const file = fileFor(pathname);
    if (!file) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    let body;
    try {
      body = await readFile(file); // read on every request, so a rebuild shows on reload
    } catch (error) {
      const missing = error.code === 'ENOENT';
      response.writeHead(missing ? 404 : 500, { 'content-type': 'text/plain' });
      response.end(missing ? `Not found${file.startsWith(DIST) ? ' (run npm run build first)' : ''}` : String(error));
      return;
    }
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    if (extname(file) === '.html') body = body.toString('utf8').replaceAll(DEMO_BECKON_URL, origin);
    response.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : body);
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
