/**
 * The PostgreSQL intake's prepared statement (store/postgres/prepared.ts): prepared once per
 * connection, reset after a failed script, and right on a real PostgreSQL with one
 * connection, where a replay fails the script between two batches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, request, uniqueApp } from '../src/server/store/conformance-fixtures.js';
import { executeSql, preparedOn } from '../src/server/store/postgres/prepared.js';
import { openServiceStore } from '../src/server/store/registry.js';
import type { ServiceStore } from '../src/server/store/types.js';
import { freshDatabase, skipPostgres } from './helpers/postgres.js';

describe('prepared statements per connection', () => {
  it('prepares a statement once, then only executes it', () => {
    const conn = {};
    const build = (s: { prepared(t: string): string }) => executeSql(s.prepared('select $1'), [1]);
    expect(preparedOn(conn).script(build)).toBe(
      'prepare shipml_0 as select $1; execute shipml_0(1)',
    );
    expect(preparedOn(conn).script(build)).toBe('execute shipml_0(1)');
    // Another connection has its own.
    expect(preparedOn({}).script(build)).toBe('prepare shipml_0 as select $1; execute shipml_0(1)');
  });

  it('starts over after a failed script: what it prepared may not exist', () => {
    const conn = {};
    const build = (s: { prepared(t: string): string }) => executeSql(s.prepared('select 1'), []);
    preparedOn(conn).script(build);
    preparedOn(conn).failed();
    expect(preparedOn(conn).script(build)).toBe(
      'deallocate all; prepare shipml_1 as select 1; execute shipml_1',
    );
    expect(preparedOn(conn).script(build)).toBe('execute shipml_1');
  });

  it('inlines values as literals, quotes and backslashes included', () => {
    expect(executeSql('s', ["it's \\ x", null, 3, true])).toBe(
      "execute s( E'it''s \\\\ x', null, 3, true)",
    );
    expect(() => executeSql('s', [{}])).toThrow(/cannot inline/);
  });
});

describe.skipIf(skipPostgres)('postgres intake on one connection', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let store: ServiceStore;
  beforeAll(async () => {
    db = await freshDatabase('prepared');
    store = await openServiceStore(db.url, { options: { poolSize: 1 } });
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('keeps taking batches of every shape after a replay failed a script', async () => {
    const app = uniqueApp();
    const delivery = (id: string) => ({
      source: 'generic',
      id,
      app,
      result: 'accepted' as const,
      detail: '',
      at: at(0),
    });
    const receive = (id: string, branch: string) =>
      store.receive({ delivery: delivery(id), requests: [request(app, { branch })] });
    for (let round = 0; round < 3; round++) {
      // One key, then three keys (another statement), then a replay (the script fails).
      expect((await receive(`a${round}`, 'main')).delivery).toBe('new');
      const three = await Promise.all(['x', 'y', 'z'].map((b) => receive(`${b}${round}`, b)));
      expect(three.map((r) => r.delivery)).toEqual(['new', 'new', 'new']);
      expect((await receive(`a${round}`, 'main')).delivery).toBe('duplicate');
    }
    const queued = (await store.listRuns({ app, status: 'queued' })).runs;
    expect(queued.map((r) => r.branch).sort()).toEqual(['main', 'x', 'y', 'z']);
  });
});
