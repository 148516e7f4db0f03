import { createNsClient } from '@beckon/ns-client';
import { startNsSandbox } from '@beckon/ns-client/sandbox';

// A local stand-in for a NetSapiens portal: no account needed, and nothing rings.
const sandbox = await startNsSandbox();
const ns = createNsClient({ baseUrl: sandbox.url, auth: { token: sandbox.token } });

await ns.queuedCalls.create({ queue: '9002@example.com', destination: '+1 (813) 555-1234' });
console.log(sandbox.calls); // [{ queue: '9002@example.com', destination: '+18135551234', status: 'queued', … }]
await sandbox.close();
