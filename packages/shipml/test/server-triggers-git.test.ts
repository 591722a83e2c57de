/**
 * The poll trigger's git side against real git: `lsRemote` on local bare repositories and
 * over the network through `git daemon` on 127.0.0.1, and the poll trigger itself seeing
 * pushes, new branches and force pushes through it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, ExternalServiceError } from '../src/core/errors.js';
import { pollTrigger } from '../src/server/triggers/poll/index.js';
import { displayUrl, lsRemote } from '../src/server/triggers/poll/ls-remote.js';
import { PollTriggerOptionsSchema } from '../src/server/triggers/poll/schema.js';
import { freePort } from './helpers/ports.js';
import { fakeWatchContext } from './helpers/watch-context.js';

const exec = promisify(execFile);
const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.invalid',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: tmpdir(),
};
const git = async (cwd: string, ...args: string[]) =>
  (await exec('git', args, { cwd, env: gitEnv })).stdout.trim();

let work: string;
let bare: string;
let clone: string;
let daemon: ChildProcess | undefined;
let daemonPort: number;

/** A commit on the clone's current branch; returns its id. */
async function commit(message: string): Promise<string> {
  await writeFile(join(clone, 'file.txt'), `${message}\n`);
  await git(clone, 'add', 'file.txt');
  await git(clone, 'commit', '-q', '-m', message);
  return git(clone, 'rev-parse', 'HEAD');
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-trig-git-'));
  bare = join(work, 'repos', 'digits.git');
  clone = join(work, 'clone');
  await exec('git', ['init', '-q', '--bare', '-b', 'main', bare], { env: gitEnv });
  await exec('git', ['init', '-q', '-b', 'main', clone], { env: gitEnv });
  await git(clone, 'remote', 'add', 'origin', bare);
  await commit('one');
  await git(clone, 'push', '-q', 'origin', 'main');

  daemonPort = await freePort();
  daemon = spawn(
    'git',
    [
      'daemon',
      '--reuseaddr',
      '--export-all',
      `--base-path=${join(work, 'repos')}`,
      '--listen=127.0.0.1',
      `--port=${daemonPort}`,
      join(work, 'repos'),
    ],
    { env: gitEnv, stdio: 'ignore' },
  );
  // Ready when it answers (bounded: 50 tries, ~5 s).
  for (let i = 0; ; i++) {
    try {
      await lsRemote(`git://127.0.0.1:${daemonPort}/digits.git`, gitEnv, undefined, {
        timeoutMs: 2000,
      });
      break;
    } catch (err) {
      if (i >= 50) throw err;
      await sleep(100);
    }
  }
});

afterAll(async () => {
  if (daemon?.pid) process.kill(daemon.pid, 'SIGTERM');
  await rm(work, { recursive: true, force: true });
});

describe('lsRemote', () => {
  it('lists branches and tags of a local bare repository, annotated tags peeled to their commit', async () => {
    const head = await git(clone, 'rev-parse', 'HEAD');
    await git(clone, 'tag', '-a', 'v1.0.0', '-m', 'release');
    await git(clone, 'tag', 'light');
    await git(clone, 'push', '-q', 'origin', '--tags');
    for (const url of [bare, `file://${bare}`]) {
      const refs = await lsRemote(url, gitEnv);
      expect(refs.get('refs/heads/main')).toBe(head);
      expect(refs.get('refs/tags/v1.0.0')).toBe(head); // the commit, not the tag object
      expect(refs.get('refs/tags/light')).toBe(head);
      expect([...refs.keys()].some((k) => k.endsWith('^{}'))).toBe(false);
    }
  });

  it('lists over the network through git daemon', async () => {
    const refs = await lsRemote(`git://127.0.0.1:${daemonPort}/digits.git`, gitEnv);
    expect(refs.get('refs/heads/main')).toBe(await git(clone, 'rev-parse', 'HEAD'));
  });

  it('fails with one line naming the URL, never its credentials', async () => {
    const closed = await freePort();
    const url = `http://alice:tok3n-s3cret@127.0.0.1:${closed}/digits.git`;
    const failure = lsRemote(url, gitEnv, undefined, { timeoutMs: 20_000 });
    await expect(failure).rejects.toThrow(ExternalServiceError);
    const message = await failure.then(
      () => '',
      (e: Error) => e.message,
    );
    expect(message).toContain(`git ls-remote http://***@127.0.0.1:${closed}/digits.git failed: `);
    expect(message).not.toMatch(/tok3n|alice/);
    expect(message.split('\n')).toHaveLength(1);
    expect(displayUrl('https://x-access-token:ghp_abc@github.com/o/r.git')).toBe(
      'https://***@github.com/o/r.git',
    );
  });

  it('says when a repository does not exist, and does not call it retryable', async () => {
    const missing = join(work, 'nope.git');
    const err = (await lsRemote(missing, gitEnv).catch((e: unknown) => e)) as ExternalServiceError;
    expect(err).toBeInstanceOf(ExternalServiceError);
    expect(err).not.toBeInstanceOf(AuthenticationError);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(
      new RegExp(`^git ls-remote ${missing} failed: .*does not appear to be a git repository`),
    );
    const overNet = await lsRemote(`git://127.0.0.1:${daemonPort}/nope.git`, gitEnv).catch(
      (e: Error) => e,
    );
    expect(overNet).toBeInstanceOf(ExternalServiceError);
  });

  it('stops git when cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(lsRemote(bare, gitEnv, controller.signal)).rejects.toThrow(/cancelled/);
  });
});

describe('poll trigger over real git', () => {
  it('remembers first, then queues pushes, new branches and force pushes, over git daemon', async () => {
    const url = `git://127.0.0.1:${daemonPort}/digits.git`;
    const options = PollTriggerOptionsSchema.parse({ branches: ['main', 'release/*'] });
    const trigger = pollTrigger(options, { name: 'digits', repository: url, branches: ['main'] });
    const ctx = fakeWatchContext({ lsRemote: () => lsRemote(url, gitEnv) });
    const at = new Date();
    expect(trigger.next(at)!.getTime() - at.getTime()).toBe(60_000);

    expect(await trigger.check(ctx, at)).toEqual([]); // first check: remember only
    expect(ctx.logs).toEqual(['poll: remembering 1 refs (first check)']);
    expect(await trigger.check(ctx, at)).toEqual([]); // nothing moved

    const before = await git(clone, 'rev-parse', 'HEAD');
    const pushed = await commit('two');
    await git(clone, 'push', '-q', 'origin', 'main');
    await git(clone, 'push', '-q', 'origin', 'main:release/1', 'main:feature');
    const requests = await trigger.check(ctx, at);
    expect(requests).toEqual([
      {
        kind: 'run',
        cause: {
          trigger: 'commit',
          source: 'poll',
          detail: `refs/heads/main ${before.slice(0, 12)} -> ${pushed.slice(0, 12)}`,
        },
        branch: 'main',
        commit: pushed,
      },
      {
        kind: 'run',
        cause: {
          trigger: 'commit',
          source: 'poll',
          detail: `refs/heads/release/1 (new) -> ${pushed.slice(0, 12)}`,
        },
        branch: 'release/1',
        commit: pushed,
      },
    ]);

    // A force push back to the old commit is a change of the head like any other.
    await git(clone, 'push', '-q', '--force', 'origin', `${before}:main`);
    expect(await trigger.check(ctx, at)).toMatchObject([{ branch: 'main', commit: before }]);
    // A deleted branch is forgotten; pushed again, it is new.
    await git(clone, 'push', '-q', 'origin', ':release/1');
    expect(await trigger.check(ctx, at)).toEqual([]);
    await git(clone, 'push', '-q', 'origin', 'main:release/1');
    expect(await trigger.check(ctx, at)).toMatchObject([{ branch: 'release/1', commit: pushed }]);
  });

  it('treats unreadable remembered state as nothing remembered', async () => {
    const trigger = pollTrigger(PollTriggerOptionsSchema.parse({}), {
      name: 'digits',
      repository: bare,
      branches: ['main'],
    });
    const ctx = fakeWatchContext({ lsRemote: () => lsRemote(bare, gitEnv) });
    await ctx.state.set('poll.refs', '{not json');
    expect(await trigger.check(ctx, new Date())).toEqual([]);
    expect(ctx.logs[0]).toMatch(/unreadable/);
  });
});
