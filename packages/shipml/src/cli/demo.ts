import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { openRepository, type CliContext } from './context.js';
import type { CommandRunner } from './model.js';
import { formatBytes, shortDigest, table } from './output.js';

const DEMO_MODEL = 'demo-classifier';

/**
 * `shipml demo`: the README's main job. Today it walks the data scientist's half on the
 * embedded default store (publish, list, promote, pull twice: the second from cache);
 * the pipeline issue grows it into the whole build-and-release demo.
 */
export function demoCommand(run: CommandRunner): Command {
  return new Command('demo')
    .description(
      'walk through publishing, listing, promoting and pulling a model on the default store',
    )
    .option('--store <url>', 'model store to use (default: as for `shipml model`)')
    .option('--debug', 'print stack traces of errors')
    .action(async (flags: { store?: string; debug?: boolean }) => {
      await run((ctx) => demo(ctx, flags), { json: false, debug: Boolean(flags.debug) });
    });
}

async function demo(ctx: CliContext, flags: { store?: string }): Promise<void> {
  const out = ctx.output;
  const { repo } = await openRepository(ctx, flags);
  const work = await mkdtemp(join(tmpdir(), 'shipml-demo-'));
  try {
    const existing = await repo.list(DEMO_MODEL, ctx.signal);
    const version = String(existing.length + 1);
    out.line(
      `1. A data scientist trains ${DEMO_MODEL} v${version} (a stand-in model: 16 MiB of weights)`,
    );
    const modelDir = join(work, 'model');
    await mkdir(modelDir);
    await writeFile(
      join(modelDir, 'weights.bin'),
      pseudoRandomBytes(16 * 1024 * 1024, Number(version)),
    );
    await writeFile(join(modelDir, 'labels.txt'), '0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n');

    out.line(`2. ... and publishes it to ${repo.store.displayUrl}, moving channel "latest"`);
    const published = await repo.publish({
      source: modelDir,
      name: DEMO_MODEL,
      version,
      channels: ['latest'],
      metrics: { accuracy: 0.9 + Number(version) / 1000 },
      signal: ctx.signal,
    });
    out.line(`   ${DEMO_MODEL}@${version}  ${published.manifest.digest}`);

    out.line(`3. Every version is immutable and listed with its channels:`);
    const rows = (await repo.list(DEMO_MODEL, ctx.signal)).map((v) => [
      v.manifest.version,
      v.manifest.created,
      formatBytes(v.manifest.size),
      shortDigest(v.manifest.digest),
      v.channels.join(','),
    ]);
    for (const line of table(['VERSION', 'CREATED', 'SIZE', 'DIGEST', 'CHANNELS'], rows))
      out.line(`   ${line}`);

    out.line(`4. A build pulls ${DEMO_MODEL}:latest, verifying every file's sha256:`);
    const first = await repo.pull(`${DEMO_MODEL}:latest`, join(work, 'pull-1'), ctx.signal);
    out.line(
      `   ${first.manifest.version}: ${formatBytes(first.downloadedBytes)} downloaded, ${first.fromCache} files from cache`,
    );
    const second = await repo.pull(`${DEMO_MODEL}:latest`, join(work, 'pull-2'), ctx.signal);
    out.line(
      `   again: ${formatBytes(second.downloadedBytes)} downloaded, ${second.fromCache} files from the local cache`,
    );

    out.line(`5. The release manager promotes it to "production":`);
    const promoted = await repo.promote(DEMO_MODEL, version, 'production', ctx.signal);
    out.line(
      `   ${DEMO_MODEL}:production -> ${promoted.pointer.version}${promoted.previous ? ` (was ${promoted.previous.version})` : ''}`,
    );
    out.line('');
    out.line(`Try: shipml model list ${DEMO_MODEL}    shipml model show ${DEMO_MODEL}:production`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Deterministic filler bytes (xorshift), so each demo version has distinct content. */
function pseudoRandomBytes(size: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf.writeUInt32LE(x >>> 0, i);
  }
  return buf;
}
