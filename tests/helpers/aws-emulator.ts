// Secrets Manager and SSM Parameter Store on loopback: moto's server (pinned in
// infra/python/requirements.txt, project venv), so the `*_ARN` path of lib/platform/secrets.ts runs
// against real AWS APIs' wire protocol with the real SDK clients Powertools creates.

import { freePort, type Proc, startProc, waitFor } from '../../infra/local/procs';
import { ensureVenv, venvBin } from '../../infra/local/python';

export interface AwsEmulator {
  endpoint: string;
  proc: Proc;
  /** The environment an SDK client needs to talk to it and nothing else. */
  env: Record<string, string>;
}

export async function startAwsEmulator(logDir: string): Promise<AwsEmulator> {
  ensureVenv(() => {});
  const port = await freePort();
  const proc = startProc(`moto-${port}`, venvBin('moto_server'), ['-H', '127.0.0.1', '-p', String(port)], {
    logDir,
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor('moto server', async () => (await fetch(`${endpoint}/moto-api/`)).ok);
  return {
    endpoint,
    proc,
    env: {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
      AWS_ENDPOINT_URL_SSM: endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
    },
  };
}
