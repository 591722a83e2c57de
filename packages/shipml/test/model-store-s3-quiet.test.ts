import { spawnSync } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withoutNodeVersionWarning } from '../src/model-store/s3/quiet-client.js';
import { CLI_BIN, spawnCli } from './helpers/cli.js';
import { s3Server } from './services.js';

const SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const warned = (stderr: string) => /NodeVersionSupportWarning|upgrade to node/i.test(stderr);

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-s3-quiet-'));
  // The binary under test: `npx tsc -p tsconfig.build.json` (scripts/test.sh builds it).
  await access(CLI_BIN);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('S3 commands print no AWS SDK Node-version notice', () => {
  it('the SDK itself prints it on this Node (the control: the test below can fail)', () => {
    const plain = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { S3Client } from '@aws-sdk/client-s3'; new S3Client({ region: 'us-east-1' });",
      ],
      { cwd: packageDir, encoding: 'utf8', env: { ...process.env, [SWITCH]: '' } },
    );
    expect(plain.status, plain.stderr).toBe(0);
    // The SDK warns below Node 22 only; on 22+ there is nothing to silence.
    expect(warned(plain.stderr)).toBe(NODE_MAJOR < 22);
  });

  it('shipml model publish and list against MinIO: no notice, nothing else lost', async () => {
    const bucket = await s3Server.createBucket();
    const store = `s3://${bucket}/models?endpoint=${s3Server.endpoint}`;
    const model = join(work, 'weights.bin');
    await writeFile(model, Buffer.alloc(1024, 7));
    const env: NodeJS.ProcessEnv = {
      ...s3Server.env(),
      HOME: work,
      SHIPML_CACHE_DIR: join(work, 'cache'),
    };
    delete env[SWITCH];
    for (const args of [
      ['model', 'publish', model, '-n', 'digits', '-v', '1.0.0', '--store', store],
      ['model', 'list', 'digits', '--store', store],
    ]) {
      const run = await spawnCli(args, env, work).done;
      expect(run.code, run.stderr).toBe(0);
      expect(warned(run.stderr), run.stderr).toBe(false);
      expect(run.stderr).not.toMatch(/Warning/);
    }
  }, 60_000);
});

describe('withoutNodeVersionWarning', () => {
  it('sets the switch only while the client is built, then restores the environment', () => {
    const before = process.env[SWITCH];
    try {
      for (const preset of [undefined, 'false']) {
        if (preset === undefined) delete process.env[SWITCH];
        else process.env[SWITCH] = preset;
        const inside = withoutNodeVersionWarning(() => process.env[SWITCH]);
        expect(inside).toBe('true');
        expect(process.env[SWITCH]).toBe(preset);
      }
      delete process.env[SWITCH];
      expect(() =>
        withoutNodeVersionWarning(() => {
          throw new Error('constructor failed');
        }),
      ).toThrow('constructor failed');
      expect(SWITCH in process.env).toBe(false);
    } finally {
      if (before === undefined) delete process.env[SWITCH];
      else process.env[SWITCH] = before;
    }
  });

  it('lets every other warning through', async () => {
    const seen: string[] = [];
    const listener = (w: Error) => seen.push(w.message);
    process.on('warning', listener);
    try {
      withoutNodeVersionWarning(() => process.emitWarning('something that matters'));
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', listener);
    }
    expect(seen).toContain('something that matters');
  });
});
