import { describe, expect, it } from 'vitest';
import { demux } from './engine.js';
import { telltaleLine } from './replicas.js';

describe('telltaleLine', () => {
  it('prefers the last line that reads like an error over the last line', () => {
    expect(telltaleLine('listening\nError: EADDRINUSE 8080\nshutting down\nstopped\n')).toBe(
      'Error: EADDRINUSE 8080',
    );
    expect(telltaleLine('one\ntwo\n')).toBe('two');
    expect(telltaleLine('\n  \n')).toBeUndefined();
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

describe('demux', () => {
  const frame = (stream: number, text: string) => {
    const body = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(body.length, 4);
    return Buffer.concat([header, body]);
  };

  it('splits Docker stream frames into stdout and stderr', () => {
    const raw = Buffer.concat([frame(1, 'out1 '), frame(2, 'err'), frame(1, 'out2')]);
    expect(demux(raw)).toEqual({ stdout: 'out1 out2', stderr: 'err' });
  });

  it('passes text without frames (a TTY) through as stdout', () => {
    expect(demux(Buffer.from('plain text'))).toEqual({ stdout: 'plain text', stderr: '' });
  });
});
