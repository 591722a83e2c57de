/**
 * A WatchContext for trigger tests: state and fire claims in memory (shared between
 * contexts made from one `FakeServerState`, as two server processes share one store), and
 * every look at the world given by the test — real git or a real model store where it matters.
 */
import type { ChannelRead, TriggerApp, WatchContext } from '../../src/server/triggers/types.js';

export class FakeServerState {
  readonly values = new Map<string, string>();
  readonly fires = new Set<string>();
}

export interface FakeWatchParts {
  app?: Partial<TriggerApp>;
  shared?: FakeServerState;
  lsRemote?: () => Promise<Map<string, string>>;
  readModelChannel?: (
    etag: string | undefined,
  ) => Promise<ChannelRead & { model?: string; channel?: string }>;
  liveCommit?: () => Promise<{ commit: string; branch?: string } | undefined>;
  lastSuccessfulImage?: (branch: string | undefined) => Promise<string | undefined>;
}

export function fakeWatchContext(parts: FakeWatchParts = {}): WatchContext & {
  logs: string[];
  shared: FakeServerState;
} {
  const shared = parts.shared ?? new FakeServerState();
  const app: TriggerApp = {
    name: 'digits',
    repository: '/nowhere',
    branches: ['main'],
    ...parts.app,
  };
  const logs: string[] = [];
  const unexpected = (what: string) => () => Promise.reject(new Error(`unexpected ${what}`));
  return {
    app,
    signal: new AbortController().signal,
    logs,
    shared,
    state: {
      get: (key) => Promise.resolve(shared.values.get(`${app.name}/${key}`)),
      set: (key, value) => {
        shared.values.set(`${app.name}/${key}`, value);
        return Promise.resolve();
      },
    },
    claimFire: (schedule, at) => {
      const key = `${app.name}/${schedule}/${at.toISOString()}`;
      if (shared.fires.has(key)) return Promise.resolve(false);
      shared.fires.add(key);
      return Promise.resolve(true);
    },
    lsRemote: parts.lsRemote ?? unexpected('lsRemote'),
    readModelChannel: parts.readModelChannel ?? unexpected('readModelChannel'),
    liveCommit: parts.liveCommit ?? (() => Promise.resolve(undefined)),
    lastSuccessfulImage: parts.lastSuccessfulImage ?? (() => Promise.resolve(undefined)),
    log: (line) => logs.push(line),
  };
}
