import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../core/errors.js';
import { RegistryTransport } from './index.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-ca-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The error a transport with this CA file fails with, at construction (before any request). */
function caFileError(caFile: string): ConfigError {
  try {
    new RegistryTransport('127.0.0.1:5000', { env: {}, caFile });
  } catch (err) {
    return err as ConfigError;
  }
  throw new Error('expected the transport to refuse the CA file');
}

describe('registry CA file', () => {
  it('a missing file is a ConfigError that says why and keeps the cause', () => {
    const file = join(work, 'missing.pem');
    const err = caFileError(file);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      `registry CA file ${file} cannot be read (ENOENT: no such file or directory)`,
    );
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(err.hint).toMatch(/--registry-ca/);
  });

  it('a directory is refused the same way, with its own reason', () => {
    const err = caFileError(work);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/cannot be read \(EISDIR: illegal operation on a directory\)$/);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('EISDIR');
  });
});
