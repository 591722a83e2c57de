/**
 * Terminal escape sequences, by the ECMA-48 grammar (https://ecma-international.org/publications-and-standards/standards/ecma-48/),
 * in their 7-bit (ESC …) and 8-bit (C1) forms, longest kinds first:
 * - control strings (OSC, DCS, SOS, PM, APC) up to ST, or BEL as xterm ends OSC (hyperlinks, titles);
 * - CSI: parameter bytes 0x30–0x3F, intermediate bytes 0x20–0x2F, one final byte 0x40–0x7E
 *   (colours with `;` or `:` sub-parameters, cursor moves, line erases);
 * - any other escape sequence: intermediates, then a final byte 0x30–0x7E (charsets, resets).
 * Written out rather than node:util's stripVTControlCharacters, whose pattern differs between
 * Node versions (Node 20 leaves `ESC[38:5:1m` half-stripped).
 */
/* eslint-disable no-control-regex -- matching control characters is the point */
const CONTROL_STRING =
  /(?:\u001b[\]PX^_]|[\u0090\u0098\u009d-\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)/;
const CSI = /(?:\u001b\[|\u009b)[\u0030-\u003f]*[\u0020-\u002f]*[\u0040-\u007e]/;
const OTHER_ESCAPE = /\u001b[\u0020-\u002f]*[\u0030-\u007e]/;
const ANY_ESCAPE_BYTE = /[\u001b\u0080-\u009f]/;
/* eslint-enable no-control-regex */
const ESCAPES = new RegExp(`${CONTROL_STRING.source}|${CSI.source}|${OTHER_ESCAPE.source}`, 'g');

/** `text` without terminal escape sequences (colours, cursor moves, hyperlinks), for logs and stored output. */
export function stripAnsi(text: string): string {
  // Most lines have no ESC or C1 byte at all: skip the regex for them.
  return ANY_ESCAPE_BYTE.test(text) ? text.replace(ESCAPES, '') : text;
}
