// The project's Python tools (cfn-lint, Schemathesis, LocalStack) live in a project-local virtual
// environment made from one pinned requirements file, never in the system Python. Re-created when
// the requirements file changes (its hash is stamped into the venv).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
export const REQUIREMENTS_PATH = join(ROOT, 'infra', 'python', 'requirements.txt');
export const VENV_DIR = process.env['PYTHON_VENV_DIR'] ?? join(ROOT, '.venv');
const STAMP = join(VENV_DIR, '.requirements.sha256');

/** Path of an executable inside the venv (e.g. `venvBin('cfn-lint')`). */
export function venvBin(name: string): string {
  return join(VENV_DIR, 'bin', name);
}

/** Creates or refreshes the venv; throws with the exact install command when Python is missing. */
export function ensureVenv(say: (msg: string) => void = console.log): string {
  const wanted = createHash('sha256').update(readFileSync(REQUIREMENTS_PATH)).digest('hex');
  if (existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === wanted) return VENV_DIR;
  const python = findPython();
  say(`creating ${VENV_DIR} from infra/python/requirements.txt (${python})`);
  rmSync(VENV_DIR, { recursive: true, force: true });
  execFileSync(python, ['-m', 'venv', VENV_DIR], { stdio: 'inherit' });
  execFileSync(
    venvBin('pip'),
    ['install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS_PATH],
    {
      stdio: 'inherit',
    },
  );
  writeFileSync(STAMP, `${wanted}\n`);
  return VENV_DIR;
}

function findPython(): string {
  for (const candidate of ['python3.11', 'python3.12', 'python3.13', 'python3']) {
    const r = spawnSync(candidate, ['-c', 'import venv, sys; print(sys.version_info >= (3, 10))'], {
      encoding: 'utf8',
    });
    if (r.status === 0 && r.stdout.trim() === 'True') return candidate;
  }
  throw new Error(
    'Python 3.10+ with venv is required for cfn-lint, Schemathesis and LocalStack. Install it with:\n' +
      '  sudo apt-get update && sudo apt-get install -y python3 python3-venv',
  );
}

// `tsx infra/local/python.ts` prepares the venv on its own (CI's python stage).
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  try {
    ensureVenv((m) => console.log(`[python] ${m}`));
    console.log(`[python] ready: ${VENV_DIR}`);
  } catch (err) {
    console.error(`[python] ${(err as Error).message}`);
    process.exit(1);
  }
}
