import { describe, expect, it } from 'vitest';
import { expectRegistryMatchesFolders } from '../../test/helpers/registry.js';
import { RunnerConfigSchema } from './config-schema.js';
import { runners } from './registry.js';

describe('command runner registry', () => {
  it('lists exactly the runner folders, each with the same files', async () => {
    await expectRegistryMatchesFolders(runners, new URL('.', import.meta.url), [
      'descriptor.ts',
      'index.ts',
      'schema.ts',
      'README.md',
    ]);
    expect(runners.ids[0]).toBe('host'); // shipml run's default
  });

  it('composes runner: from the runners, strict per kind', () => {
    expect(RunnerConfigSchema.parse({})).toEqual({ kind: 'host' });
    // As written: the runner's defaults are applied when it opens (under the server's caps).
    expect(RunnerConfigSchema.parse({ kind: 'container', network: 'bridge' })).toEqual({
      kind: 'container',
      network: 'bridge',
    });
    const wrong = (value: unknown) => {
      const r = RunnerConfigSchema.safeParse(value);
      return r.success ? 'accepted' : r.error.issues.map((i) => i.message).join('; ');
    };
    expect(wrong({ kind: 'host', image: 'x' })).toMatch(/unknown key "image" for runner host/);
    expect(wrong({ kind: 'vm' })).toMatch(
      /unknown command runner "vm": expected one of host, container/,
    );
    expect(wrong({ kind: 'container', user: '0:0' })).toMatch(/never runs as root/);
    expect(wrong({ kind: 'container', network: 'host' })).not.toBe('accepted');
  });
});
