/**
 * A Docker token-auth server for tests (https://distribution.github.io/distribution/spec/auth/token/):
 * checks Basic credentials, then issues an RS256 JWT for the requested scopes, signed with
 * the key whose certificate the test registry trusts (sent in the `x5c` header).
 */
import { createPrivateKey, createSign, X509Certificate, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';

export interface TokenServerOptions {
  port: number;
  keyFile: string;
  certFile: string;
  users: Record<string, string>;
  service: string;
  issuer: string;
}

export class TokenServer {
  private server: Server | undefined;
  /** Token requests seen, with the scopes asked for. */
  readonly requests: Array<{ user: string | undefined; scopes: string[] }> = [];

  constructor(private readonly options: TokenServerOptions) {}

  async start(): Promise<void> {
    const key = createPrivateKey(readFileSync(this.options.keyFile));
    const cert = new X509Certificate(readFileSync(this.options.certFile));
    const x5c = [cert.raw.toString('base64')];
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const auth = req.headers.authorization;
      let user: string | undefined;
      if (auth?.startsWith('Basic ')) {
        const [name, password] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
        if (!name || this.options.users[name] !== password) {
          res.writeHead(401).end('{"details":"bad credentials"}');
          return;
        }
        user = name;
      }
      const scopes = url.searchParams.getAll('scope');
      this.requests.push({ user, scopes });
      // Anonymous callers get no access; known users get what they ask for.
      const access = user
        ? scopes.map((s) => {
            const [type, name, actions] = s.split(':');
            return { type, name, actions: (actions ?? '').split(',') };
          })
        : [];
      const now = Math.floor(Date.now() / 1000);
      const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const header = encode({ alg: 'RS256', typ: 'JWT', x5c });
      const payload = encode({
        iss: this.options.issuer,
        sub: user ?? '',
        aud: this.options.service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomBytes(8).toString('hex'),
        access,
      });
      const signature = createSign('RSA-SHA256')
        .update(`${header}.${payload}`)
        .sign(key)
        .toString('base64url');
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token: `${header}.${payload}.${signature}`, expires_in: 300 }));
    });
    await new Promise<void>((resolve) =>
      this.server!.listen(this.options.port, '127.0.0.1', resolve),
    );
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
