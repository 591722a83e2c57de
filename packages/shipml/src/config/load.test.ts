import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { openModelStore } from '../model-store/registry.js';
import { parseConfig } from './load.js';

const file = '/repo/shipml.yaml';
const fails = (text: string, env: NodeJS.ProcessEnv = {}) => {
  try {
    parseConfig(text, file, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
};

describe('shipml.yaml', () => {
  it('parses a full config and interpolates ${VAR}, ${VAR:-default} and $${', () => {
    const { config, secrets } = parseConfig(
      'model:\n  name: digits\n  channel: production\n  store:\n    url: s3://models/${TEAM}\n    secretAccessKey: ${KEY}\n    region: ${REGION:-eu-west-1}\n    endpoint: http://h/$${literal}\ncache:\n  dir: /c\n',
      file,
      { TEAM: 'vision', KEY: 'k3y-value' },
    );
    expect(config.model).toEqual({
      name: 'digits',
      channel: 'production',
      store: {
        url: 's3://models/vision',
        secretAccessKey: 'k3y-value',
        region: 'eu-west-1',
        endpoint: 'http://h/${literal}',
      },
    });
    expect(config.cache?.dir).toBe('/c');
    expect(secrets).toEqual(['k3y-value']);
  });

  it('defaults the channel to latest and allows an empty file', () => {
    expect(parseConfig('model:\n  name: x\n', file, {}).config.model?.channel).toBe('latest');
    expect(parseConfig('', file, {}).config).toEqual({});
  });

  it('names the file, the path and what was expected, in one line', () => {
    expect(fails('model:\n  name: Digits!\n')).toMatch(
      /^\/repo\/shipml\.yaml: model\.name: invalid model name "Digits!": expected lowercase/,
    );
    expect(fails('model:\n  channel: 5\n')).toMatch(
      /^\/repo\/shipml\.yaml: model\.channel: .*expected string/i,
    );
    expect(fails('model:\n  stor: x\n')).toMatch(
      /^\/repo\/shipml\.yaml: model: unknown key.*"stor"/,
    );
    expect(fails('model:\n  store:\n    endpoint: x\n')).toMatch(/model\.store: .*(url|expected)/i);
    expect(fails('model:\n  store:\n    url: s3://b/${MISSING}\n')).toBe(
      '/repo/shipml.yaml: model.store.url: environment variable MISSING is not set',
    );
    expect(fails('model:\n  name: ${bad-name}\n')).toMatch(
      /model\.name: malformed variable reference "\$\{bad-name\}"/,
    );
  });

  it('reports YAML syntax errors with line and column', () => {
    expect(fails('model:\n  name: [unclosed\n')).toMatch(
      /^\/repo\/shipml\.yaml:\d+:\d+: invalid YAML: /,
    );
    expect(fails('model:\n  name: a\n  name: b\n')).toMatch(
      /^\/repo\/shipml\.yaml:3:3: invalid YAML: .*unique/i,
    );
  });

  it('store option errors point into the config', async () => {
    const { config } = parseConfig(
      'model:\n  store:\n    url: s3://bucket/p\n    endpoint: not-a-url\n    partSizeMiB: 1\n',
      file,
      {},
    );
    const store = config.model!.store as { url: string };
    await expect(openModelStore(store, {}, `${file}: model.store`)).rejects.toThrow(
      /\/repo\/shipml\.yaml: model\.store\.endpoint: .*URL.*; \/repo\/shipml\.yaml: model\.store\.partSizeMiB: .*>=5/,
    );
    await expect(
      openModelStore({ url: 'file:///x', bogus: 1 }, {}, `${file}: model.store`),
    ).rejects.toThrow(/model\.store: .*bogus/);
  });
});
