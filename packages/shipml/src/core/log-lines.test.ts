import { describe, expect, it } from 'vitest';
import { lastLines, readableLine, telltaleLine } from './log-lines.js';

describe('telltaleLine', () => {
  it('prefers the last line that reads like an error over the last line', () => {
    expect(telltaleLine('listening\nError: EADDRINUSE 8080\nshutting down\nstopped\n')).toBe(
      'Error: EADDRINUSE 8080',
    );
    expect(telltaleLine('one\ntwo\n')).toBe('two');
    expect(telltaleLine('\n  \n')).toBeUndefined();
  });

  it('takes lines as well as a whole log (a kept tail of a test run or a build)', () => {
    expect(
      telltaleLine(['#5 [2/3] RUN make', '#5 ERROR: process "make" did not complete', '#6 done']),
    ).toBe('#5 ERROR: process "make" did not complete');
    expect(telltaleLine([' ✓ adds', ' × divides by zero', ' Duration 1s', ''])).toBe(
      '× divides by zero',
    );
    expect(telltaleLine(['AssertionError: expected 1 to be 2', 'at test.js:3'])).toBe(
      'AssertionError: expected 1 to be 2',
    );
    expect(telltaleLine([])).toBeUndefined();
  });

  it('reads JSON log records (pino): message and error message', () => {
    const pino =
      '{"level":60,"time":1,"err":{"type":"ModelLoadError","message":"MODEL_PATH /x does not exist","stack":"..."},"msg":"start-up failed"}';
    expect(telltaleLine(`${pino}\n{"level":30,"msg":"stopped"}`)).toBe(
      'start-up failed: MODEL_PATH /x does not exist',
    );
    expect(telltaleLine('{"level":"error","error":"boom"}')).toBe('boom');
    expect(telltaleLine('{not json, failed}')).toBe('{not json, failed}');
  });
});

describe('lastLines', () => {
  it('keeps the last few non-blank lines, oldest first, JSON records made readable', () => {
    const log = [
      '{"level":30,"msg":"loading model"}',
      '',
      '{"level":30,"msg":"Server listening at http://127.0.0.1:8080"}',
      'plain line',
      '  ',
    ];
    expect(lastLines(log, 2)).toEqual(['Server listening at http://127.0.0.1:8080', 'plain line']);
    expect(lastLines(log.join('\n'), 5)).toEqual([
      'loading model',
      'Server listening at http://127.0.0.1:8080',
      'plain line',
    ]);
    expect(lastLines('', 3)).toEqual([]);
    expect(lastLines('a\nb', 0)).toEqual([]);
  });
});

describe('readableLine', () => {
  it("drops colour codes and shows a record's plain fields after its message", () => {
    expect(readableLine('\u001b[0;93mwarning: no CA bundle\u001b[m')).toBe('warning: no CA bundle');
    expect(
      readableLine(
        '{"level":30,"time":1,"pid":7,"hostname":"h","url":"http://127.0.0.1:8080","port":8080,"model":{"v":1},"msg":"listening"}',
      ),
    ).toBe('listening url=http://127.0.0.1:8080 port=8080');
    expect(readableLine('{"level":30,"time":1}')).toBe('{"level":30,"time":1}');
  });
});
