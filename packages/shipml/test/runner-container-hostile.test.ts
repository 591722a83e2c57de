/**
 * A hostile command on the container runner (real containers on the Docker Engine): each
 * attempt is contained, the result names the limit it hit, and the next command on the
 * same runner is unaffected. The "server" here is this process: its environment holds a
 * secret, and a data directory with a config, a database and a token file sits on the host.
 */
import { mkdir, mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runners } from '../src/runners/registry.js';
import type { CommandInput, CommandRunner } from '../src/runners/types.js';

const SECRET = 'hostile-test-secret-7f3a91';
const image = process.env.SHIPML_TEST_BASE_NODE;
if (!image) throw new Error('SHIPML_TEST_BASE_NODE is not set (scripts/services.sh start)');

let runner: CommandRunner;
/** The same runner with a small disk allowance: the disk limit is measured on the host's file
 * system, where other tests running beside this one write too, so only its own case uses it. */
let smallDisk: CommandRunner;
let root: string;
let checkout: string;
let serverData: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shipml-hostile-'));
  checkout = join(root, 'checkout');
  serverData = join(root, 'server-data');
  await mkdir(checkout);
  await mkdir(serverData);
  for (const f of ['shipml-server.yaml', 'service.db', 'api-token'])
    await writeFile(join(serverData, f), `${SECRET}\n`);
  await chmod(root, 0o755);
  const open = (diskMiB: number) =>
    runners
      .get('container')
      .open(
        runners
          .get('container')
          .optionsSchema.parse({ memoryMiB: 128, pids: 64, diskMiB, scratchMiB: 16 }),
        { env: { ...process.env, SHIPML_SERVER_SECRET: SECRET }, defaultImage: image },
      );
  runner = await open(4096);
  smallDisk = await open(32);
}, 120_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const run = async (command: string, extra: Partial<CommandInput> = {}, on = runner) => {
  const lines: string[] = [];
  const result = await on.run({
    command,
    appDir: checkout,
    env: {},
    timeoutSeconds: 20,
    onLine: (l) => lines.push(l),
    ...extra,
  });
  return { ...result, text: lines.join('\n') };
};

/** After every attempt the runner still works as before. */
async function nextIsUnaffected(): Promise<void> {
  const ok = await run('echo fine > fine.txt && cat fine.txt');
  expect(ok.code).toBe(0);
  expect(ok.text).toBe('fine');
}

describe('the container runner contains a hostile command', () => {
  it("cannot read the server's environment, config, database or tokens", async () => {
    const r = await run(
      `env; cat /proc/1/environ; for f in ${serverData}/*; do cat "$f"; done; ls ${serverData}; exit 0`,
    );
    expect(r.text).not.toContain(SECRET);
    expect(r.text).toMatch(/No such file or directory/);
    await nextIsUnaffected();
  });

  it('cannot reach the Docker socket or write outside its checkout and scratch', async () => {
    const r = await run(
      'for s in /var/run/docker.sock /run/docker.sock; do test -S $s && echo "socket $s"; done; ' +
        'touch /etc/owned /usr/owned / 2>&1; touch /workspace/ok /tmp/ok /scratch/ok && echo writable',
    );
    expect(r.text).not.toMatch(/socket/);
    expect(r.text).toMatch(/Read-only file system/);
    expect(r.text).toMatch(/writable/);
    await nextIsUnaffected();
  });

  it('a fork bomb stops at the process limit', async () => {
    const r = await run('bomb() { bomb | bomb & }; bomb; sleep 3', { timeoutSeconds: 10 });
    expect(r.limit).toMatch(/process limit 64/);
    await nextIsUnaffected();
  });

  it('filling the disk stops at the disk limit; filling the scratch at its size', async () => {
    const disk = await run(
      'dd if=/dev/zero of=big bs=1M count=100; sleep 2',
      { timeoutSeconds: 15 },
      smallDisk,
    );
    expect(disk.limit).toMatch(/disk limit 32 MiB/);
    await rm(join(checkout, 'big'), { force: true });
    const scratch = await run('dd if=/dev/zero of=/scratch/big bs=1M count=100');
    expect(scratch.code).not.toBe(0);
    expect(scratch.text + (scratch.limit ?? '')).toMatch(/No space left on device|memory limit/);
    await nextIsUnaffected();
  });

  it('allocating beyond the memory limit is OOM-killed and says so', async () => {
    const r = await run('node -e "const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1))"');
    expect(r.code).not.toBe(0);
    expect(r.limit).toMatch(/memory limit 128 MiB/);
    await nextIsUnaffected();
  });

  it('sleeping past the timeout is ended with its whole tree', async () => {
    const started = Date.now();
    const r = await run('sleep 120 & sleep 120', { timeoutSeconds: 2 });
    expect(r.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(15_000);
    await nextIsUnaffected();
  });

  it('opens no connection when the network is none', async () => {
    const r = await run(
      `node -e "require('net').connect(443, '104.16.0.1').on('connect', () => console.log('connected')).on('error', (e) => { console.log(e.code); process.exit(3) })"`,
    );
    expect(r.code).toBe(3);
    expect(r.text).toMatch(/ENETUNREACH|EHOSTUNREACH|EAI_AGAIN/);
    await nextIsUnaffected();
  });
});
