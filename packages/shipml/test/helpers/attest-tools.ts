/**
 * The independent tools the attestation tests check ShipML against (scripts/attest-tools.sh
 * installs them into the CI cache): cosign, oras, a registry with the referrers API and the
 * CycloneDX Python validator.
 * Missing tools skip the tests on a developer's machine and fail them in CI (CI=true), like
 * test/docker-host.test.ts.
 */
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// One source of truth for where the tools are: the script that installs them says.
const script = fileURLToPath(new URL('../../../../scripts/attest-tools.sh', import.meta.url));
const located = Object.fromEntries(
  execFileSync('bash', [script, 'env'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.split('=') as [string, string]),
);

/** Where each tool is (an SHIPML_* variable of the same name overrides the script's answer). */
export const tools = {
  cosign: process.env.SHIPML_COSIGN ?? located.SHIPML_COSIGN!,
  oras: process.env.SHIPML_ORAS ?? located.SHIPML_ORAS!,
  crane: process.env.SHIPML_CRANE ?? located.SHIPML_CRANE!,
  referrersRegistry: process.env.SHIPML_REFERRERS_REGISTRY ?? located.SHIPML_REFERRERS_REGISTRY!,
  cdxPython: process.env.SHIPML_CDX_PYTHON ?? located.SHIPML_CDX_PYTHON!,
};

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const missing = Object.entries(tools)
  .filter(([, path]) => !executable(path))
  .map(([name]) => name);

/** True when the tests must skip: tools missing outside CI. In CI a missing tool fails. */
export const skipAttestTools = missing.length > 0 && !process.env.CI;
if (missing.length > 0) {
  const message = `attestation tools missing (${missing.join(', ')}): run scripts/attest-tools.sh install`;
  if (process.env.CI) throw new Error(message);
  console.warn(`skipped: ${message}`);
}

const exec = promisify(execFile);

/** Runs a tool; resolves with its output and exit code (never rejects on a non-zero exit). */
export async function runTool(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(file, args, {
      cwd,
      env: { ...process.env, ...env },
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : 1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    };
  }
}

/** cosign's flags for an offline, key-based, plain-HTTP loopback registry (ENVIRONMENT.md). */
export const COSIGN_LOCAL = ['--allow-http-registry', '--allow-insecure-registry'];

/** Validates a CycloneDX 1.6 JSON document with cyclonedx-python-lib; null when valid. */
export async function validateCycloneDx(json: string): Promise<string | null> {
  const script = [
    'import sys',
    'from cyclonedx.schema import SchemaVersion',
    'from cyclonedx.validation.json import JsonStrictValidator',
    'errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(sys.stdin.read())',
    'print(errors if errors else "valid")',
    'sys.exit(1 if errors else 0)',
  ].join('\n');
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(tools.cdxPython, ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve(code === 0 ? null : out.trim()));
    child.stdin.end(json);
  });
}
