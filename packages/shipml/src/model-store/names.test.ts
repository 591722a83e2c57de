import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import {
  formatModelRef,
  parseModelRef,
  validateChannel,
  validateFilePath,
  validateName,
  validateVersion,
} from './names.js';

describe('names grammar', () => {
  it('accepts the documented forms', () => {
    for (const name of ['digits', 'resnet-50', 'a.b_c-d', 'x1'])
      expect(validateName(name)).toBe(name);
    for (const version of ['1', '1.2.0', '2026-11-22.1', '1.0.0+build.7', 'v2_rc-1', 'A'])
      expect(validateVersion(version)).toBe(version);
    for (const channel of ['latest', 'production', 'canary-2'])
      expect(validateChannel(channel)).toBe(channel);
    for (const path of ['model.onnx', 'tokenizer/vocab.json', 'a b/ü.txt', '.hidden'])
      expect(validateFilePath(path)).toBe(path);
  });

  it('refuses anything that could escape or confuse the layout', () => {
    const bad: Array<[(v: string) => string, string]> = [
      [validateName, '../x'],
      [validateName, 'a/b'],
      [validateName, 'A'],
      [validateName, ''],
      [validateName, 'a..b'],
      [validateName, '-a'],
      [validateName, 'a'.repeat(129)],
      [validateVersion, '..'],
      [validateVersion, '.1'],
      [validateVersion, '1/2'],
      [validateVersion, 'channels'],
      [validateVersion, ''],
      [validateVersion, '1 2'],
      [validateVersion, '1\\2'],
      [validateChannel, 'Prod'],
      [validateChannel, '1st'],
      [validateChannel, 'a/b'],
      [validateChannel, 'a'.repeat(64)],
      [validateChannel, ''],
      [validateFilePath, '../x'],
      [validateFilePath, '/abs'],
      [validateFilePath, 'a//b'],
      [validateFilePath, 'a/./b'],
      [validateFilePath, 'a\\b'],
      [validateFilePath, 'a\nb'],
      [validateFilePath, ''],
    ];
    for (const [check, value] of bad)
      expect(() => check(value), JSON.stringify(value)).toThrow(ConfigError);
  });

  it('parses references', () => {
    expect(parseModelRef('digits@1.2')).toEqual({ name: 'digits', version: '1.2' });
    expect(parseModelRef('digits:production')).toEqual({ name: 'digits', channel: 'production' });
    expect(parseModelRef('digits')).toEqual({ name: 'digits', channel: 'latest' });
    expect(formatModelRef(parseModelRef('digits@1.2'))).toBe('digits@1.2');
    expect(() => parseModelRef('digits@')).toThrow(ConfigError);
    expect(() => parseModelRef('digits:../x')).toThrow(ConfigError);
  });
});
