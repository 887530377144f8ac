// The local sandbox process, started by the local stack (`npm start`, the test stack) with the
// stack's environment: `main.ts <port> <api base URL>`. Never part of a deployed package.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { required } from '../../../lib/config';
import { mintToken } from '../../../lib/http/auth';
import { testProvider } from './provider';
import { sandboxServer } from './server';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const [port, apiBase] = process.argv.slice(2);
if (!port || !apiBase) throw new Error('usage: main.ts <port> <api base URL>');

const provider = testProvider({ apiBase, webhookSecret: required('WEBHOOK_SECRET') });
const server = sandboxServer({
  apiBase,
  provider,
  root: ROOT,
  mintBuyerToken: (customer_id, ttl_s) => mintToken({ customer_id, ttl_s }),
});
server.listen(Number(port), '127.0.0.1', () => console.log(`sandbox listening on 127.0.0.1:${port}`));

const stop = () => {
  provider.stop();
  server.close();
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
