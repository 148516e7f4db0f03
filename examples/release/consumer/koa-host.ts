// A Koa app of your own with Beckon's routes mounted in it, TypeScript strict.
import Koa from 'koa';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeDeps, createDeps, createRouter, loadConfig, startCallbacks } from '@beckon/server';

// NS_API_BASE, NS_TOKEN, UPDATE_SECRET, PORT… from the environment (docs/configuration.md).
const config = loadConfig(process.env);
const server = createServer();
await once(server.listen(config.port, config.host), 'listening');
const { port } = server.address() as AddressInfo; // the one listened on, also when PORT=0

// The NetSapiens client, domains.json (watched), limits, background texts, the database (opened and
// migrated). `publicUrl` is used when PUBLIC_URL is unset.
const deps = await createDeps(config, { publicUrl: `http://${config.host}:${port}` });
const app = new Koa({ proxy: config.trustProxy > 0, maxIpsCount: config.trustProxy });

// Beckon's routes bring their own request ids, JSON errors and body parsing, and leave other paths alone.
const beckon = createRouter(deps);
app.use(beckon.routes()).use(beckon.allowedMethods());
app.use((ctx) => {
  if (ctx.path === '/') ctx.body = 'Example Co: want a call back? Use the button on any page.';
});
server.on('request', app.callback());
// Booked callbacks are placed at their time, and placed ones follow their call's status (docs/callbacks.md).
const callbacks = startCallbacks(deps);
console.log(`listening on ${deps.config.publicUrl}`);

process.once('SIGTERM', () => {
  // Stop taking requests and placing callbacks; let texts in flight finish, close the store and the database.
  server.close(async () => {
    await callbacks?.close();
    await closeDeps(deps);
  });
});
