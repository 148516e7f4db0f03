// Runs the host app with Beckon mounted, configured from the environment like beckon-server
// (NS_API_BASE, NS_TOKEN, UPDATE_SECRET, PORT, HOST, PUBLIC_URL, … — see the server README).
//   NS_API_BASE=https://ucportal.example.net NS_TOKEN=… UPDATE_SECRET=… node server.mjs
//   node --env-file=.env server.mjs
import { createServer } from 'node:http';
import { closeDeps, ConfigError, createDeps, loadConfig, startCallbacks } from '@beckon/server';
import { createHostApp } from './app.mjs';

async function main() {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message); // names each missing or invalid variable, never a value
    process.exitCode = 1;
    return;
  }

  // Listen first: without PUBLIC_URL, the public URL is the address actually bound (PORT may be 0).
  const server = createServer();
  server.headersTimeout = 10_000; // slow-loris protection, as beckon-server sets it
  server.requestTimeout = 30_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const { address, port, family } = server.address();
  const url = `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;

  // Beckon's parts: the NetSapiens client, domains.json (reloaded when it changes), limits, background texts.
  const deps = await createDeps(config, { publicUrl: url });
  server.on('request', createHostApp(deps).callback());
  // Booked callbacks are placed at their time, and placed ones follow their call's status (docs/callbacks.md).
  const callbacks = startCallbacks(deps);
  deps.logger.info({ url, publicUrl: deps.config.publicUrl }, 'host app listening');

  // A graceful stop (systemd and Docker send SIGTERM): finish the requests in flight and the texts
  // being sent, then close the domains.json store.
  const stop = async (signal) => {
    deps.logger.info({ signal }, 'shutting down');
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 10_000).unref();
    await closed;
    await callbacks?.close();
    await closeDeps(deps);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

await main();
