import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { ConfigError } from '../core/errors.js';

const load = (yaml: string) => parseConfig(yaml, '/app/shipml.yaml', {}).config.build;
const refusal = (yaml: string) => {
  try {
    load(yaml);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('build section of shipml.yaml (composed from the builders)', () => {
  it('defaults to the node builder, with its own defaults and the shared ones', () => {
    expect(load('build:\n  base: oci:./base\n  cmd: [node, main.js]\n')).toEqual({
      kind: 'node',
      base: 'oci:./base',
      cmd: ['node', 'main.js'],
      context: '.',
      workdir: '/app',
    });
  });

  it('takes the dockerfile builder’s own keys under kind dockerfile', () => {
    expect(load('build:\n  kind: dockerfile\n  args: { BASE: x }\n  modelPath: /m\n')).toEqual({
      kind: 'dockerfile',
      dockerfile: 'Dockerfile',
      args: { BASE: 'x' },
      context: '.',
      modelPath: '/m',
    });
  });

  it('refuses another builder’s key, naming the path and the keys this kind takes', () => {
    const message = refusal('build:\n  base: b\n  dockerfile: Dockerfile\n');
    expect(message).toMatch(/^\/app\/shipml.yaml: build: unknown key "dockerfile" for kind node: /);
    expect(message).toContain('expected kind, context, entrypoint, cmd');
    expect(message).toContain('base, workdir, include');
    expect(refusal('build:\n  kind: dockerfile\n  base: b\n  include: [a]\n')).toContain(
      'unknown keys "base", "include" for kind dockerfile',
    );
  });

  it('refuses an unknown kind naming the registered builders', () => {
    expect(refusal('build:\n  kind: nix\n')).toBe(
      '/app/shipml.yaml: build.kind: unknown image builder "nix": expected one of node, dockerfile',
    );
  });

  it('reports a wrong value of a shared key at its path', () => {
    expect(refusal('build:\n  kind: dockerfile\n  ports: [99999]\n')).toMatch(/build\.ports\.0/);
  });
});
