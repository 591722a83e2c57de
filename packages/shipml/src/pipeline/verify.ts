/**
 * After a deploy, the release proves itself through the load balancer: ready, running the
 * expected commit and model (the version endpoint's answer mentions both), and answering a
 * sample request.
 */
import type { ShipmlConfig } from '../config/schema.js';
import type { Release } from '../deploy/types.js';

export type VerifyConfig = NonNullable<ShipmlConfig['verify']>;

export interface VerifyOptions {
  url: string;
  release: Release;
  readinessPath: string;
  verify: VerifyConfig;
  signal?: AbortSignal | undefined;
}

/** Resolves with what was checked; throws an Error naming the first check that failed. */
export async function verifyRelease(options: VerifyOptions): Promise<string[]> {
  const { url, release, verify } = options;
  // Loaded here, not at the top: undici is hundreds of modules every CLI start would pay for.
  const { request } = await import('undici');
  const timeout = verify.timeoutSeconds * 1000;
  const get = async (
    path: string,
    init: { method?: 'GET' | 'POST'; body?: string; contentType?: string } = {},
  ) => {
    const res = await request(new URL(path, url), {
      method: init.method ?? 'GET',
      body: init.body,
      headers: init.contentType ? { 'content-type': init.contentType } : undefined,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: options.signal,
    });
    return { status: res.statusCode, body: await res.body.text() };
  };
  const done: string[] = [];
  const ready = await get(options.readinessPath);
  if (ready.status !== 200)
    throw new Error(`GET ${options.readinessPath} answered ${ready.status}`);
  done.push(`GET ${options.readinessPath} 200`);
  if (verify.versionPath) {
    const version = await get(verify.versionPath);
    if (version.status !== 200)
      throw new Error(`GET ${verify.versionPath} answered ${version.status}`);
    const expected = [
      release.provenance.commit && ['commit', release.provenance.commit.replace(/-dirty$/, '')],
      release.provenance.model && ['model digest', release.provenance.model.digest],
    ].filter((e): e is [string, string] => Boolean(e));
    for (const [what, value] of expected)
      if (!version.body.includes(value))
        throw new Error(`GET ${verify.versionPath} does not report the expected ${what} ${value}`);
    done.push(
      `GET ${verify.versionPath}: ${expected.map(([w]) => w).join(' and ') || 'answered'} as built`,
    );
  }
  if (verify.request) {
    const r = verify.request;
    const answer = await get(r.path, {
      method: r.method,
      body: r.body,
      contentType: r.body ? r.contentType : undefined,
    });
    if (answer.status < 200 || answer.status >= 300)
      throw new Error(
        `${r.method} ${r.path} answered ${answer.status}: ${answer.body.slice(0, 160)}`,
      );
    done.push(`${r.method} ${r.path} ${answer.status}`);
  }
  return done;
}
