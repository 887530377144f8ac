// The reference project's headline command, `ab -n 1000 -c 100 -k` against POST /api/orders, run
// as it was (plus the Authorization header this API needs) and its output parsed.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Runs a command asynchronously, never with spawnSync: the stack's processes write their logs into
 * pipes this process drains, and a blocked event loop here would stall serverless-offline on a
 * full pipe (its stdout writes are synchronous).
 */
export function capture(
  cmd: string,
  args: string[],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => {
      stdout += String(d);
    });
    c.stderr.on('data', (d) => {
      stderr += String(d);
    });
    c.on('error', (err) => resolve({ status: -1, stdout, stderr: String(err) }));
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export interface AbResult {
  exit_code: number | null;
  command: string;
  rps: number;
  complete: number;
  non2xx: number;
  accepted: number;
  failed: number;
  time_s: number;
  percentiles_ms: Record<string, number>;
  output: string;
}

/** The reference's headline command, verbatim but for the Authorization header it needs here. */
export async function runAb(
  baseUrl: string,
  product_id: number,
  token: string,
  dataDir: string,
  ab: { n: number; c: number; qty: number },
): Promise<AbResult> {
  const bodyFile = join(dataDir, 'ab-body.json');
  writeFileSync(bodyFile, JSON.stringify({ product_id, qty: ab.qty }));
  const args = [
    '-n', String(ab.n), '-c', String(ab.c), '-k',
    '-p', bodyFile, '-T', 'application/json',
    '-H', `Authorization: Bearer ${token}`,
    `${baseUrl}/api/orders`,
  ]; // biome-ignore format: flag/value pairs
  // Asynchronously, never spawnSync: the stack's processes write their logs into pipes this process
  // drains, and a blocked event loop here would stall serverless-offline on a full pipe.
  const r = await capture('ab', args);
  const output = `${r.stdout}${r.stderr ? `\n${r.stderr}` : ''}`;
  // Never a figure that was not measured: an ab that failed or printed no result stops the bench.
  if (r.status !== 0) throw new Error(`ab exited ${r.status}: ${r.stderr.trim() || r.stdout.trim()}`);
  const num = (re: RegExp) => {
    const m = re.exec(output);
    if (re.source.startsWith('Non-2xx') && !m) return 0; // ab prints this line only when there are some
    if (!m) throw new Error(`ab printed no "${re.source.split(':')[0]}" line:\n${output}`);
    return Number(m[1]);
  };
  const complete = num(/Complete requests:\s+(\d+)/);
  const non2xx = num(/Non-2xx responses:\s+(\d+)/);
  const percentiles_ms: Record<string, number> = {};
  for (const m of output.matchAll(/^\s+(\d+)%\s+(\d+)/gm)) percentiles_ms[`p${m[1]}`] = Number(m[2]);
  return {
    exit_code: r.status,
    command:
      `ab ${args.map((a) => (a.startsWith('Authorization') ? "'Authorization: Bearer <buyer token>'" : a)).join(' ')}`.replace(
        bodyFile,
        'body.json',
      ),
    rps: num(/Requests per second:\s+([\d.]+)/),
    complete,
    non2xx,
    accepted: complete - non2xx,
    failed: num(/Failed requests:\s+(\d+)/),
    time_s: num(/Time taken for tests:\s+([\d.]+)/),
    percentiles_ms,
    output,
  };
}
