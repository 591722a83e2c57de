import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { defineRegistry, secretsOf } from './registry.js';

const base = { optionsSchema: z.object({}), example: '', summary: '', ciEnv: [] };
const registry = defineRegistry('deploy target', [
  { ...base, id: 'docker', secretOptions: [], secretEnv: ['DOCKER_CERT_PATH'] },
  { ...base, id: 'kubernetes', secretOptions: ['token'], secretEnv: [] },
] as const);

describe('defineRegistry', () => {
  it('finds a back end by id and lists the ids in order', () => {
    expect(registry.get('kubernetes').id).toBe('kubernetes');
    expect(registry.ids).toEqual(['docker', 'kubernetes']);
    expect(registry.choices).toBe('docker | kubernetes');
    expect(registry.has('docker')).toBe(true);
    expect(registry.has('dokcer')).toBe(false);
  });

  it('refuses an unknown id with a ConfigError naming where it came from and the valid ids', () => {
    expect(() => registry.get('dokcer', '--target')).toThrow(ConfigError);
    expect(() => registry.get('dokcer', '--target')).toThrow(
      '--target: unknown deploy target "dokcer": expected one of docker, kubernetes',
    );
  });

  it('refuses two back ends with one id', () => {
    expect(() =>
      defineRegistry('x', [
        { ...base, id: 'a', secretOptions: [], secretEnv: [] },
        { ...base, id: 'a', secretOptions: [], secretEnv: [] },
      ]),
    ).toThrow('duplicate id a');
  });

  it('collects the secrets every back end declares', () => {
    const { options, env } = secretsOf([registry]);
    expect([...options]).toEqual(['token']);
    expect([...env]).toEqual(['DOCKER_CERT_PATH']);
  });
});
