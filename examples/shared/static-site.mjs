// The customer's website in the browser examples: a static server for an example's index.html (and the
// bundle its build writes to dist/), on an origin of its own. The page must not share an origin with the
// Beckon server: the real embed is always cross-origin (CORS, CSP, no cookies).
//
// Each index.html names the demo server (`npm start` at the repository root, DEMO_BECKON_URL) as a site
// names its Beckon server. With `beckonUrl` (BECKON_URL) set, that origin is swapped for another one as
// the page is served — which is how the tests point the same page at their own server.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, resolve, sep } from 'node:path';

/** The Beckon server the examples' pages are written for: the repository's demo server. */
export const DEMO_BECKON_URL = 'http://127.0.0.1:5100';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * Serves `root/index.html` at `/`, and files under `root/<assets>/` when `assets` is given; nothing else
 * (sources, node_modules, `../`). `port` 0 picks a free one. Resolves to `{ url, close() }`.
 * @param {{ root: string, assets?: string, port: number, host?: string, beckonUrl?: string }} options
 */
export async function serveSite({ root, assets, port, host = '127.0.0.1', beckonUrl = DEMO_BECKON_URL }) {
  const origin = beckonUrl.replace(/\/+$/, '');
  const assetDir = assets ? resolve(root, assets) : undefined;
  const fileFor = (pathname) => {
    if (pathname === '/' || pathname === '/index.html') return resolve(root, 'index.html');
    // resolve() folds away any `..`, so a path that still lies under the asset folder cannot escape it.
    const file = resolve(root, `.${decodeURIComponent(pathname)}`);
    return assetDir && file.startsWith(assetDir + sep) ? file : undefined;
  };

  const server = createServer(async (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let file;
    try {
      const { pathname } = new URL(request.url ?? '/', 'http://localhost');
      if (pathname === '/favicon.ico') {
        // Browsers ask every origin for one; "no content" keeps their console free of 404s.
        response.writeHead(204).end();
        return;
      }
      file = fileFor(pathname);
    } catch {
      response.writeHead(400).end();
      return;
    }
    if (!file) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    let body;
    try {
      body = await readFile(file); // read on every request, so an edit or a rebuild shows on reload
    } catch (error) {
      const missing = error.code === 'ENOENT';
      response.writeHead(missing ? 404 : 500, { 'content-type': 'text/plain' });
      response.end(missing ? `Not found${assetDir && file.startsWith(assetDir) ? ' (run npm run build first)' : ''}` : String(error));
      return;
    }
    if (extname(file) === '.html') body = body.toString('utf8').replaceAll(DEMO_BECKON_URL, origin);
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  await new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, host, done);
  });
  const address = server.address();
  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/`,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** `node serve.mjs`: serves on PORT (or the example's own port), the page pointed at BECKON_URL (or the demo). */
export async function serveFromCommandLine(serve, defaultPort) {
  const beckonUrl = process.env.BECKON_URL || DEMO_BECKON_URL;
  const site = await serve({ port: process.env.PORT ? Number(process.env.PORT) : defaultPort, beckonUrl });
  console.log(`Example page: ${site.url}  (Beckon server: ${beckonUrl})`);
}
