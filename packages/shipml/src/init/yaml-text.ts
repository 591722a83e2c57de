/**
 * The generated files are YAML templates, written as text so they can carry the comments a
 * reader needs (where secrets come from, what to change). Every value that does not come
 * from this code passes through `q`, so no name, URL or branch can break the YAML.
 */

/**
 * A YAML scalar for `value`: plain when that is unambiguous in block and flow context (no
 * indicator first, no `: `, ` #`, flow punctuation, nothing a parser would read as a number,
 * boolean or null), else single-quoted (a quote doubled), else JSON (= YAML double-quoted).
 * Inside `[...]` and `{...}` (flow context) `,[]{}` also need quotes; as a map value (block
 * context) they do not.
 */
export function q(value: string | number, context: 'flow' | 'block' = 'block'): string {
  if (typeof value === 'number') return String(value);
  const words =
    context === 'flow'
      ? /^[A-Za-z_./$][^\s,[\]{}]*(?: [^\s,[\]{}]+)*$/
      : /^[A-Za-z_./$]\S*(?: \S+)*$/;
  const plain =
    words.test(value) &&
    !/: | #|:$/.test(value) &&
    !/^(?:true|false|yes|no|on|off|y|n|null)$/i.test(value) &&
    !/^\.(?:inf|nan)$|^\.\d/i.test(value);
  if (plain) return value;
  // eslint-disable-next-line no-control-regex
  if (!/[\u0000-\u001f\u007f]/.test(value)) return `'${value.replace(/'/g, "''")}'`;
  return JSON.stringify(value);
}

/** `[a, b, c]` */
export function flow(values: ReadonlyArray<string | number>): string {
  return `[${values.map((v) => q(v, 'flow')).join(', ')}]`;
}

/** `{ A: b, C: d }` */
export function flowMap(entries: Record<string, string>): string {
  const pairs = Object.entries(entries).map(([k, v]) => `${q(k, 'flow')}: ${q(v, 'flow')}`);
  return `{ ${pairs.join(', ')} }`;
}

/** Indents every non-empty line of `text` by `spaces`. */
export function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => (line ? pad + line : line))
    .join('\n');
}

/** `# text` lines for a block of prose (each line of `text`, trimmed at the end). */
export function comment(text: string): string {
  return text
    .split('\n')
    .map((line) => `# ${line}`.trimEnd())
    .join('\n');
}
