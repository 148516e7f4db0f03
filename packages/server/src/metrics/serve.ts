import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { AppState } from '../context.js';
import type { Metrics } from './metrics.js';

/** `GET /metrics` on the app, behind `METRICS_TOKEN` (see router.ts). */
export function metricsRoute(metrics: Metrics): Middleware<AppState> {
  return async function metricsRoute(ctx) {
    const { body, contentType } = await metrics.render();
    ctx.set('Cache-Control', 'no-store');
    ctx.type = contentType;
    ctx.body = body;
  };
}

/**
 * `GET /metrics` on a port of its own (`METRICS_PORT`), bound to loopback: for a scraper on the same
 * machine (or a sidecar), with no token and nothing else served. Resolves once it listens.
 */
export async function serveMetrics(metrics: Metrics, port: number, logger: Logger): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Only GET /metrics is served here\n');
      return;
    }
    metrics.render().then(
      ({ body, contentType }) => res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' }).end(body),
      (error: unknown) => {
        logger.error({ err: error }, 'metrics could not be collected');
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('The metrics could not be collected\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${bound}/metrics` };
}
