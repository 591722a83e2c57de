import { describe, expect, it } from 'vitest';
import { stripAnsi } from './ansi.js';

const ESC = '\u001b';

describe('stripAnsi', () => {
  it('removes colours, including 256-colour and true-colour with ; or : sub-parameters', () => {
    expect(stripAnsi(`${ESC}[32m✓${ESC}[39m passed ${ESC}[1;31mfailed${ESC}[0m`)).toBe(
      '✓ passed failed',
    );
    expect(stripAnsi(`${ESC}[38;5;196ma${ESC}[38;2;255;0;0mb${ESC}[38:5:1mc${ESC}[m`)).toBe('abc');
  });

  it('removes cursor moves, erases, private modes and charset switches', () => {
    expect(stripAnsi(`${ESC}[2K${ESC}[1G${ESC}[?25l${ESC}[3Aline${ESC}(B${ESC}[?25h${ESC}c`)).toBe(
      'line',
    );
  });

  it('removes OSC strings ended by BEL or ST (hyperlinks, window titles)', () => {
    expect(stripAnsi(`${ESC}]8;;https://x.test/a?b=1${ESC}\\link${ESC}]8;;${ESC}\\`)).toBe('link');
    expect(stripAnsi(`${ESC}]0;vitest${'\u0007'}after`)).toBe('after');
  });

  it('removes the 8-bit forms (CSI as U+009B, ST as U+009C)', () => {
    expect(stripAnsi('\u009b31mred\u009b0m \u009d0;t\u009cok')).toBe('red ok');
  });

  it('leaves text without escapes exactly as it is', () => {
    for (const text of ['', 'plain [32m not an escape', 'ünïcödé ✓ 100% [a-z]', 'tab\there'])
      expect(stripAnsi(text)).toBe(text);
  });

  it('keeps the text around an unfinished sequence (its introducer goes)', () => {
    expect(stripAnsi(`ok ${ESC}[`)).toBe('ok ');
    expect(stripAnsi(`a${ESC}]no end`)).toBe('ano end');
  });
});
