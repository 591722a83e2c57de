import { describe, expect, it } from 'vitest';
import { demux } from './engine.js';

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
