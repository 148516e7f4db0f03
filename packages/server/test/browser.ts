import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { chromiumLaunchOptions } from '../../../examples/shared/chromium.mjs';

/** Debian's Chromium, launched as every browser test in the repository launches it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch(chromiumLaunchOptions());
}

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

/** A customer's site: one HTML page on its own origin, with the headers given. */
export async function servePage(html: string, headers: Record<string, string> = {}): Promise<PageServer> {
  const server: Server = createServer((request, response) => {
    // The browser asks every origin for a favicon; answering keeps its console free of 404s.
    if (request.url === '/favicon.ico') {
      response.writeHead(204).end();
      return;
    }
    if (request.url !== '/') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
