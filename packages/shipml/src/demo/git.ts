/**
 * The app developer's side of the demo: a local bare repository (the "git host") and a
 * working copy of examples/digits with the demo's shipml.yaml; each demo commits and pushes,
 * then delivers GitHub's push webhook for it, signed the way GitHub signs (X-Hub-Signature-256).
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ExternalServiceError } from '../core/errors.js';
import { signHmacSha256 } from '../server/triggers/verify.js';
import { DIGITS } from './train.js';

const run = promisify(execFile);
/** What a developer's clone of digits does not hold (built or downloaded, see its .gitignore). */
const SKIP = new Set([
  'node_modules',
  'dist',
  '.shipml',
  'model',
  'test-artifacts',
  'out',
  '.cache',
  'shipml.yaml',
]);

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(
    'git',
    [
      '-c',
      'user.name=An App Developer',
      '-c',
      'user.email=dev@example.com',
      '-c',
      'commit.gpgsign=false',
      ...args,
    ],
    { cwd },
  );
  return stdout.trim();
}

export interface DemoRepository {
  bare: string;
  work: string;
}

/** The bare repository and a working copy (created on the first demo). */
export async function demoRepository(dir: string): Promise<DemoRepository> {
  const bare = join(dir, 'git', 'digits.git');
  const work = join(dir, 'git', 'digits');
  if (!(await stat(join(bare, 'HEAD')).catch(() => undefined))) {
    await mkdir(bare, { recursive: true });
    await run('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  }
  if (!(await stat(join(work, '.git')).catch(() => undefined))) {
    await mkdir(work, { recursive: true });
    await git(work, 'init', '-q', '-b', 'main');
    await git(work, 'remote', 'add', 'origin', bare);
  }
  return { bare, work };
}

/** Copies digits and the config into the working copy, commits and pushes; returns the commit. */
export async function commitAndPush(
  repo: DemoRepository,
  config: string,
  message: string,
): Promise<string> {
  await cp(DIGITS, repo.work, {
    recursive: true,
    filter: (src) => !SKIP.has(src.slice(DIGITS.length + 1).split('/')[0]!),
  });
  await writeFile(join(repo.work, 'shipml.yaml'), config);
  await git(repo.work, 'add', '-A');
  await git(repo.work, 'commit', '-q', '--allow-empty', '-m', message);
  await git(repo.work, 'push', '-q', 'origin', 'HEAD:main');
  return git(repo.work, 'rev-parse', 'HEAD');
}

/** Delivers GitHub's push event for `commit` to the server; returns the queued run's id. */
export async function deliverPush(
  server: { url: string; hookSecret: string },
  app: string,
  commit: string,
): Promise<string> {
  const body = Buffer.from(
    JSON.stringify({
      ref: 'refs/heads/main',
      before: '0'.repeat(40),
      after: commit,
      deleted: false,
      pusher: { name: 'app-developer' },
    }),
  );
  const res = await fetch(`${server.url}/hooks/${app}/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': `demo-${commit}`,
      'x-hub-signature-256': signHmacSha256(server.hookSecret, body),
    },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const answer = (await res.json()) as {
    runs?: string[];
    result?: string;
    error?: { message: string };
  };
  const id = answer.runs?.[0];
  if (res.status !== 202 || !id)
    throw new ExternalServiceError(
      `the server did not queue the push (${res.status}: ${answer.error?.message ?? answer.result})`,
      {
        retryable: false,
      },
    );
  return id;
}
