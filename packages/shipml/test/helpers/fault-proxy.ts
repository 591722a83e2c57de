/**
 * An HTTP proxy on 127.0.0.1 in front of a real server (MinIO, Azurite) that injects the
 * faults a store client must survive: N failed responses (503, 500 or 429) before passing
 * through, or hanging without answering. Everything else is forwarded unchanged.
 */
import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  /** Forward the request but cut the connection after `afterBytes` of a request body (uploads). */
  | { kind: 'reset'; times: number; method: string; afterBytes: number }
  | { kind: 'status'; status: number; times: number; body?: string }
  | { kind: 'hang'; times: number }
  | { kind: 'none' };

export class FaultProxy {
  private server: Server | undefined;
  private fault: Fault = { kind: 'none' };
  /** Requests seen, faulted or not. */
  requests = 0;
  faulted = 0;

  constructor(private readonly target: URL) {}

  set(fault: Fault): void {
    this.fault = fault;
    this.requests = 0;
    this.faulted = 0;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    const fault = this.fault;
    if (fault.kind === 'reset' && req.method === fault.method && this.faulted < fault.times) {
      this.faulted++;
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen >= fault.afterBytes) req.socket.resetAndDestroy(); // mid-body: a TCP RST, as a dropped connection
      });
      return;
    }
    if (fault.kind !== 'none' && fault.kind !== 'reset' && this.faulted < fault.times) {
      this.faulted++;
      req.resume();
      if (fault.kind === 'hang') return; // never answer; the client's timeout must fire
      res.writeHead(fault.status, { 'content-type': 'application/xml' });
      res.end(
        fault.body ??
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.status === 429 || fault.status === 503 ? 'SlowDown' : 'InternalError'}</Code><Message>injected fault</Message></Error>`,
      );
      return;
    }
    const upstream = request(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }
}
