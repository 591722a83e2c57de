import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { CancelledError, ExternalServiceError } from '../../../core/errors.js';
import { httpClient } from './http.js';

/** Real HTTP servers on loopback, closed after each test. */
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('registry HTTP client (node:http)', () => {
  it('sends bodies (buffer and stream), gives status, headers (repeats as arrays) and the body', async () => {
    const base = await serve((req, res) => {
      void bodyOf(req).then((body) => {
        res.setHeader('x-one', 'a');
        res.setHeader('www-authenticate', ['Bearer realm="r"', 'Basic realm="b"']);
        res.end(`${req.method} ${req.url} ${req.headers['content-length'] ?? 'chunked'} ${body}`);
      });
    });
    const http = httpClient('test', {});
    const put = await http.request(`${base}/v2/x?digest=1`, {
      method: 'PUT',
      body: Buffer.from('abc'),
    });
    expect(put.status).toBe(200);
    expect(put.headers['x-one']).toBe('a');
    expect(put.headers['www-authenticate']).toEqual(['Bearer realm="r"', 'Basic realm="b"']);
    expect(await put.body.text()).toBe('PUT /v2/x?digest=1 3 abc');
    const patch = await http.request(`${base}/up`, {
      method: 'PATCH',
      body: Readable.from([Buffer.from('de'), Buffer.from('f')]),
    });
    expect(Buffer.from(await patch.body.arrayBuffer()).toString()).toBe('PATCH /up chunked def');
    const head = await http.request(`${base}/v2/`, { method: 'HEAD' });
    await head.body.dump();
    expect(head.status).toBe(200);
  });

  it('follows a redirect to another origin without the credentials', async () => {
    const storage = await serve((req, res) => {
      res.end(`auth=${req.headers.authorization ?? 'none'} path=${req.url}`);
    });
    const registry = await serve((req, res) => {
      res.writeHead(307, { location: `${storage}/blob?sig=1` }).end('moved');
    });
    const http = httpClient('test', {});
    const res = await http.request(`${registry}/v2/r/blobs/sha256:1`, {
      method: 'GET',
      headers: { authorization: 'Bearer secret' },
    });
    expect(res.status).toBe(200);
    expect(await res.body.text()).toBe('auth=none path=/blob?sig=1');
  });

  it('keeps the credentials on a redirect within the origin; stops after 5 hops', async () => {
    let hops = 0;
    const base = await serve((req, res) => {
      if (req.url === '/loop') {
        hops++;
        return res.writeHead(302, { location: '/loop' }).end();
      }
      if (req.url === '/start') return res.writeHead(301, { location: '/end' }).end();
      res.end(`auth=${req.headers.authorization ?? 'none'}`);
    });
    const http = httpClient('test', {});
    const res = await http.request(`${base}/start`, {
      method: 'GET',
      headers: { authorization: 'Basic x' },
    });
    expect(await res.body.text()).toBe('auth=Basic x');
    const loop = await http.request(`${base}/loop`, { method: 'GET' });
    await loop.body.dump();
    expect(loop.status).toBe(302);
    expect(hops).toBe(6); // the first request and five redirects
  });

  it('a server that does not answer in time is a retryable error naming the registry', async () => {
    const base = await serve(() => undefined); // never answers
    const http = httpClient('reg.test', { timeoutMs: 300 });
    const err = await http.request(`${base}/v2/`, { method: 'GET' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExternalServiceError);
    expect((err as ExternalServiceError).retryable).toBe(true);
    expect((err as Error).message).toMatch(
      /^registry reg\.test: GET http:\/\/127\.0\.0\.1:\d+\/v2\/ unreachable or timed out \(ETIMEDOUT: no answer for 0\.3 s\)$/,
    );
  });

  it('a body that stops mid-way fails its reader after the timeout', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '10' });
      res.write('12345'); // and nothing more
    });
    const http = httpClient('test', { timeoutMs: 300 });
    const res = await http.request(`${base}/blob`, { method: 'GET' });
    await expect(res.body.text()).rejects.toThrow(/no answer for 0.3 s/);
  });

  it('an aborted signal cancels before and after the answer', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200);
      res.write('part');
    });
    const http = httpClient('test', {});
    const before = new AbortController();
    before.abort();
    const err = await http
      .request(`${base}/x`, { method: 'GET', signal: before.signal })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    const during = new AbortController();
    const res = await http.request(`${base}/x`, { method: 'GET', signal: during.signal });
    const reading = res.body.text();
    during.abort();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a refused connection says the registry is unreachable', async () => {
    const base = await serve(() => undefined);
    const port = new URL(base).port;
    await new Promise<void>((resolve) => servers.pop()!.close(() => resolve()));
    const err = await httpClient('reg.test', {})
      .request(`http://127.0.0.1:${port}/v2/`, { method: 'GET' })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/unreachable or timed out \(ECONNREFUSED/);
  });
});
