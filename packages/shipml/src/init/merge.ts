import {
  isMap,
  isNode,
  isScalar,
  parseDocument,
  type Document,
  type Pair,
  type YAMLMap,
} from 'yaml';
import { readFile } from 'node:fs/promises';
import { parseConfig } from '../config/load.js';
import { ConfigError, systemCode } from '../core/errors.js';

/** One difference between the user's shipml.yaml and what init would write. */
export interface ConfigChange {
  /** Dotted key, e.g. `build.env.HOST`. */
  path: string;
  /** added: the key was missing; changed: --force replaced the user's value; kept: it was not replaced. */
  action: 'added' | 'changed' | 'kept';
  /** What init writes (added, changed) or would have written (kept). */
  value: unknown;
  /** The user's value (changed, kept). */
  was?: unknown;
}

export interface MergeResult {
  text: string;
  changes: ConfigChange[];
}

/**
 * Merges what init would write into the user's shipml.yaml: every key of theirs stays, keys
 * they lack are added (with init's comments), and a value they set differently is kept, or
 * replaced with `force`. Maps merge key by key; lists and scalars are single values. A build
 * of another kind (dockerfile vs node) is one value too: its keys do not mix. Comments and
 * layout of the user's file survive (yaml's Document keeps them).
 */
export function mergeConfig(
  existing: string,
  generated: string,
  file: string,
  force: boolean,
): MergeResult {
  const user = parseDocument(existing, { uniqueKeys: true });
  const syntax = user.errors[0];
  if (syntax)
    throw new ConfigError(
      `${file}: invalid YAML, so init cannot merge into it: ${firstLine(syntax.message)}`,
      {
        hint: 'fix the file, or pass --force to replace it',
      },
    );
  const ours = parseDocument(generated);
  const changes: ConfigChange[] = [];
  if (user.contents === null || (isScalar(user.contents) && user.contents.value === null)) {
    user.contents = ours.contents;
    for (const pair of (ours.contents as YAMLMap).items)
      changes.push({ path: keyOf(pair), action: 'added', value: json(ours, pair.value) });
    return { text: user.toString(), changes };
  }
  if (!isMap(user.contents) || !isMap(ours.contents))
    throw new ConfigError(
      `${file}: expected a map of keys at the top, so init cannot merge into it`,
      {
        hint: 'fix the file, or pass --force to replace it',
      },
    );
  mergeMap(user, ours, user.contents, ours.contents, [], force, changes);
  return { text: changes.some((c) => c.action !== 'kept') ? user.toString() : existing, changes };
}

function mergeMap(
  user: Document,
  ours: Document,
  target: YAMLMap,
  source: YAMLMap,
  path: string[],
  force: boolean,
  changes: ConfigChange[],
): void {
  for (const pair of source.items) {
    const key = keyOf(pair);
    const where = [...path, key];
    const mine = target.items.find((p) => keyOf(p) === key);
    const value = json(ours, pair.value);
    if (!mine) {
      // After the key that precedes it in init's order, so a section lands where init puts it.
      const before = source.items.slice(0, source.items.indexOf(pair)).map(keyOf);
      const after = target.items.findLastIndex((p) => before.includes(keyOf(p)));
      const at = after === -1 ? target.items.length : after + 1;
      target.items.splice(at, 0, pair.clone());
      changes.push({ path: where.join('.'), action: 'added', value });
      continue;
    }
    const sameKind = !(where.join('.') === 'build' && kindOf(mine.value) !== kindOf(pair.value));
    if (isMap(mine.value) && isMap(pair.value) && sameKind) {
      mergeMap(user, ours, mine.value, pair.value, where, force, changes);
      continue;
    }
    const was = json(user, mine.value);
    if (JSON.stringify(was) === JSON.stringify(value)) continue;
    if (force) {
      const replacement = pair.clone();
      mine.value = replacement.value;
      changes.push({ path: where.join('.'), action: 'changed', value, was });
    } else {
      changes.push({ path: where.join('.'), action: 'kept', value, was });
    }
  }
}

/** `build.kind`, with the schema's default (node) when the map has none. */
function kindOf(node: unknown): unknown {
  if (!isMap(node)) return undefined;
  return node.get('kind') ?? 'node';
}

function keyOf(pair: Pair<unknown, unknown>): string {
  return isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
}

function json(doc: Document, node: unknown): unknown {
  return isNode(node) ? node.toJS(doc) : (node ?? null);
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** A string the user's shipml.yaml sets at `path` (e.g. model.name), if it parses. */
export function existingValue(text: string, path: string[]): string | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length) return undefined;
  const value: unknown = doc.getIn(path);
  return typeof value === 'string' && value ? value : undefined;
}

/** One line per change, as the CLI prints them. */
export function describeChange(change: ConfigChange): string {
  const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  if (change.action === 'added') return `added ${change.path}: ${show(change.value)}`;
  if (change.action === 'changed')
    return `changed ${change.path}: ${show(change.was)} -> ${show(change.value)}`;
  return `kept ${change.path}: ${show(change.was)} (init would write ${show(change.value)}; --force changes it)`;
}

/** The file's text, or undefined when there is none. */
export async function readExisting(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (systemCode(err) === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * The merged file must load as the pipeline will load it. Variables the user's file refers
 * to may be unset here (CI sets them): those are checked by the pipeline, not by init.
 */
export function checkMerged(
  text: string,
  file: string,
  display: string,
  env: NodeJS.ProcessEnv,
): void {
  const lenient = new Proxy(env, {
    get: (t, k) => (typeof k === 'string' ? (t[k] ?? 'x') : undefined),
  });
  try {
    parseConfig(text, file, lenient);
  } catch (err) {
    throw new ConfigError(
      `${display} would not load after merging (nothing was written): ${(err as Error).message}`,
      { hint: 'fix the key it names in shipml.yaml, then run shipml init again' },
    );
  }
}
