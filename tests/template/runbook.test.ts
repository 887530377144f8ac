// Pins down README's runbook: every command it names exists (an npm script, and for `cli`/`ops` a
// subcommand), and every AWS-calling step it shows with --dry-run prints its call and exits 0 with
// no AWS credentials at all.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { offlineSlsEnv } from '../../infra/aws/package';

const ROOT = join(import.meta.dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const SCRIPTS = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<
  string,
  string
>;

function runbookCommands(): string[] {
  const section = README.slice(README.indexOf('### Runbook'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('npm '));
}

function run(args: string[]) {
  return spawnSync('npm', ['run', '-s', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...offlineSlsEnv(), DATA_DIR: join(ROOT, '.data-runbook-test-none') },
    timeout: 60_000,
  });
}

const subcommands = (script: string) => {
  const help = run([script, '--', '--help']).stdout;
  return new Set([...help.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!));
};

describe('the runbook', () => {
  const lines = runbookCommands();

  it('has the steps the issue lists', () => {
    expect(lines.length).toBeGreaterThanOrEqual(10);
    for (const step of [
      'ci',
      'run check',
      'run deploy',
      'run cli -- migrate',
      'run smoke',
      'rollback',
      'teardown',
      'run load',
    ]) {
      expect(
        lines.some((l) => l.includes(step)),
        step,
      ).toBe(true);
    }
  });

  it('names only commands that exist', () => {
    const known = { cli: subcommands('cli'), ops: subcommands('ops') };
    for (const line of lines) {
      const m = /^npm (?:run (\S+)(?: -- (\S+))?|(ci))/.exec(line);
      expect(m, line).not.toBeNull();
      if (m![3]) continue; // npm ci
      const [script, sub] = [m![1]!, m![2]];
      expect(Object.keys(SCRIPTS), line).toContain(script);
      if (script === 'cli' || script === 'ops') expect([...known[script]], line).toContain(sub);
    }
  });

  it('shows every ops step with --dry-run, which prints its AWS call and calls nothing', () => {
    const dry = lines.filter((l) => l.startsWith('npm run ops --'));
    expect(dry.length).toBeGreaterThanOrEqual(4);
    for (const line of dry) {
      expect(line, line).toMatch(/--dry-run$/);
      const r = run(line.replace(/^npm run /, '').split(/\s+/));
      expect(r.status, `${line}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^dry run, would call AWS: sls .* --stage prod/m);
    }
  }, 120_000);
});
