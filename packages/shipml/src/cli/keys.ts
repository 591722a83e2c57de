import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { generateKeyPair } from '../attest/keys.js';
import { ConfigError, ConflictError } from '../core/errors.js';
import type { CliContext, CommandRunner } from './context.js';
import { commonOptions, type CommonFlags } from './options.js';

interface GenerateFlags extends CommonFlags {
  out: string;
}

/** `shipml keys generate`: a cosign-compatible ECDSA P-256 key pair (PREFIX.key, PREFIX.pub). */
export function keysCommand(run: CommandRunner): Command {
  const keys = new Command('keys').description('signing keys (cosign-compatible)');
  commonOptions(keys.command('generate'))
    .description(
      "write an ECDSA P-256 key pair in cosign's formats; the private key is encrypted with $COSIGN_PASSWORD",
    )
    .option('--out <prefix>', 'file name prefix: writes PREFIX.key and PREFIX.pub', 'cosign')
    .action(async (flags: GenerateFlags) => {
      await run((ctx) => generate(ctx, flags), {
        json: Boolean(flags.json),
        debug: Boolean(flags.debug),
      });
    });
  return keys;
}

async function generate(ctx: CliContext, flags: GenerateFlags): Promise<void> {
  // As cosign: the password comes from COSIGN_PASSWORD (set it empty for no password); never a flag,
  // which would end up in shell history and process listings.
  const password = ctx.env.COSIGN_PASSWORD;
  if (password === undefined)
    throw new ConfigError('COSIGN_PASSWORD is not set: it encrypts the private key', {
      hint: 'export COSIGN_PASSWORD=... (an empty value means no password), then run again',
    });
  ctx.redactor.add(password);
  const prefix = resolve(ctx.cwd, flags.out);
  const pair = await generateKeyPair(password);
  await writeNew(`${prefix}.key`, pair.privatePem, 0o600);
  await writeNew(`${prefix}.pub`, pair.publicPem, 0o644);
  if (flags.json)
    return ctx.output.json({ privateKey: `${prefix}.key`, publicKey: `${prefix}.pub` });
  ctx.output.line(`private key ${prefix}.key (encrypted with COSIGN_PASSWORD; keep it secret)`);
  ctx.output.line(`public key  ${prefix}.pub (give this to whoever verifies)`);
}

/** Creates `path` with `mode`; an existing file is never overwritten (a lost key cannot come back). */
async function writeNew(path: string, text: string, mode: number): Promise<void> {
  let handle;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new ConflictError(`${path} exists: not overwriting a key`, {
        hint: 'choose another --out prefix or move the old key away',
      });
    throw err;
  }
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}
