/**
 * Session-level prepared statements for scripts (dialect.ts ScriptSession): which statements
 * a pooled connection has prepared, so a script EXECUTEs them instead of sending the
 * statement's text to be parsed and planned again. PostgreSQL planned the intake's statement
 * (data-modifying CTEs over jsonb_populate_recordset) in about 1 ms of CPU per batch, more
 * than it took to run; a prepared statement is planned once per connection.
 *
 * PREPARE is not transactional: a statement prepared by a script whose transaction then
 * failed may or may not exist (the PREPARE itself may have failed). After a failed script
 * the connection's statements are unknown, and the next script starts with DEALLOCATE ALL.
 */
import { literal, type ScriptSession } from '../dialect.js';

/** Distinct statements kept per connection (the intake's shapes: one per number of keys). */
const MAX_PREPARED = 100;

interface Session {
  names: Map<string, string>;
  next: number;
  unsure: boolean;
}

const sessions = new WeakMap<object, Session>();

/** The prepared statements of one connection (any object that stands for it: pg's client). */
export function preparedOn(connection: object) {
  let session = sessions.get(connection);
  if (!session) sessions.set(connection, (session = { names: new Map(), next: 0, unsure: false }));
  const s = session;
  return {
    /** The script `build` writes, preceded by what it needs prepared (and a reset if due). */
    script(build: (session: ScriptSession) => string): string {
      const head: string[] = [];
      if (s.unsure || s.names.size >= MAX_PREPARED) {
        head.push('deallocate all');
        s.names.clear();
        s.unsure = false;
      }
      const body = build({
        prepared(text) {
          let name = s.names.get(text);
          if (name === undefined) {
            name = `shipml_${s.next++}`;
            s.names.set(text, name);
            head.push(`prepare ${name} as ${text}`);
          }
          return name;
        },
      });
      return [...head, body].join('; ');
    },
    /** The script failed: what it prepared may or may not exist. */
    failed(): void {
      s.unsure = true;
    },
  };
}

/** `execute name(v1, v2, …)`, the values as SQL literals. */
export function executeSql(name: string, parameters: readonly unknown[]): string {
  return parameters.length === 0
    ? `execute ${name}`
    : `execute ${name}(${parameters.map(literalOf).join(', ')})`;
}

/** A parameter's value as an SQL literal (what a script, which has no parameters, sends). */
export function literalOf(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return literal(value);
  throw new Error(`cannot inline a parameter of type ${typeof value}`);
}
