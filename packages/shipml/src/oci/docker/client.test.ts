import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ExternalServiceError } from '../../core/errors.js';
import { dockerClient, engineEndpoint } from './client.js';
import { engineFailure } from './engine-errors.js';

/** How DOCKER_HOST and the TLS variables become docker-modem options (no engine needed). */
let certs: string;
beforeAll(async () => {
  certs = await mkdtemp(join(tmpdir(), 'shipml-docker-certs-'));
  // Contents are not parsed until a TLS connection is made; the files only have to exist.
  for (const file of ['ca.pem', 'cert.pem', 'key.pem'])
    await writeFile(join(certs, file), `contents of ${file}`);
});
afterAll(async () => {
  await rm(certs, { recursive: true, force: true });
});

describe('engineEndpoint', () => {
  it('defaults to /var/run/docker.sock, and unix:// names another socket', () => {
    expect(engineEndpoint({}).modem.socketPath).toBe('/var/run/docker.sock');
    expect(engineEndpoint({ DOCKER_HOST: '' }).where).toBe('/var/run/docker.sock');
    const unix = engineEndpoint({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' });
    expect(unix).toMatchObject({ kind: 'unix', where: '/run/user/1000/docker.sock' });
    expect(unix.modem.host).toBeUndefined();
  });

  it('tcp:// is plain HTTP on 2375 unless TLS is asked for', () => {
    const plain = engineEndpoint({ DOCKER_HOST: 'tcp://10.1.2.3' });
    expect(plain.where).toBe('tcp://10.1.2.3:2375');
    expect(plain.modem).toMatchObject({ host: '10.1.2.3', port: 2375, protocol: 'http' });
    expect(engineEndpoint({ DOCKER_HOST: '127.0.0.1:4243' }).where).toBe('tcp://127.0.0.1:4243');
  });

  it('DOCKER_TLS_VERIFY reads ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH', () => {
    const tls = engineEndpoint({
      DOCKER_HOST: 'tcp://127.0.0.1:2376',
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: certs,
    });
    expect(tls.where).toBe('tcp://127.0.0.1:2376 (TLS)');
    expect(tls.modem).toMatchObject({ protocol: 'https', port: 2376, agent: undefined });
    expect(tls.modem.ca?.toString()).toBe('contents of ca.pem');
    expect(tls.modem.cert?.toString()).toBe('contents of cert.pem');
    expect(tls.modem.key?.toString()).toBe('contents of key.pem');
    // The docker CLI's default port for TLS, and ~/.docker as the default certificate folder.
    const home = engineEndpoint({ DOCKER_HOST: 'tcp://h', DOCKER_TLS: '1', HOME: '/nowhere' });
    expect(home.where).toBe('tcp://h:2376 (TLS, unverified)');
    expect(home.modem.agent?.options.rejectUnauthorized).toBe(false);
  });

  it('a missing ca.pem, or a certificate without its key, is a ConfigError naming the file', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'shipml-docker-nocerts-'));
    try {
      const env = { DOCKER_HOST: 'tcp://127.0.0.1:2376', DOCKER_TLS_VERIFY: '1' };
      expect(() => engineEndpoint({ ...env, DOCKER_CERT_PATH: empty })).toThrow(ConfigError);
      expect(() => engineEndpoint({ ...env, DOCKER_CERT_PATH: empty })).toThrow(
        `${join(empty, 'ca.pem')} cannot be read (ENOENT)`,
      );
      await writeFile(join(empty, 'ca.pem'), 'ca');
      await writeFile(join(empty, 'cert.pem'), 'cert');
      expect(() => engineEndpoint({ ...env, DOCKER_CERT_PATH: empty })).toThrow(
        'has cert.pem but no key.pem',
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('ssh:// takes the user, port 22 by default and the SSH agent; no password', () => {
    const ssh = engineEndpoint({ DOCKER_HOST: 'ssh://deploy@build.example', SSH_AUTH_SOCK: '/a' });
    expect(ssh.where).toBe('ssh://deploy@build.example:22');
    expect(ssh.modem).toMatchObject({
      protocol: 'ssh',
      host: 'build.example',
      port: 22,
      username: 'deploy',
      sshOptions: { agent: '/a' },
    });
    expect(engineEndpoint({ DOCKER_HOST: 'ssh://h:2222', USER: 'me' }).where).toBe(
      'ssh://me@h:2222',
    );
    const withPassword = () => engineEndpoint({ DOCKER_HOST: 'ssh://deploy:hunter2@h' });
    expect(withPassword).toThrow(ConfigError);
    expect(withPassword).toThrow(/password in an ssh:\/\/ address is not supported/);
    expect(withPassword).not.toThrow(/hunter2/);
  });

  it('other schemes and garbage are ConfigErrors', () => {
    expect(() => engineEndpoint({ DOCKER_HOST: 'fd://' })).toThrow(/unix:\/\/, tcp:\/\/ and ssh/);
    expect(() => engineEndpoint({ DOCKER_HOST: 'tcp://[nope' })).toThrow(/is not an address/);
  });
});

describe('dockerClient', () => {
  it('uses the environment it is given, never the process environment', () => {
    const saved = process.env.DOCKER_HOST;
    // docker-modem reads process.env.DOCKER_HOST itself and merges it under our options.
    process.env.DOCKER_HOST = 'tcp://127.0.0.1:1';
    try {
      const { docker, where } = dockerClient({ DOCKER_HOST: 'unix:///tmp/other.sock' });
      const modem = docker.modem as unknown as { socketPath?: string; host?: string };
      expect(where).toBe('/tmp/other.sock');
      expect(modem.socketPath).toBe('/tmp/other.sock');
      expect(modem.host).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });

  it('ssh:// dials with SSH (docker-modem over ssh2), and a failed login is one clear error', async () => {
    // Not a real sshd (none here): a server that records what the client sends, then hangs up.
    const received: Buffer[] = [];
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.once('data', (chunk: Buffer) => {
        received.push(chunk);
        socket.end('SSH-2.0-shipml-test\r\n\0\0\0\0garbage');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const { docker, where } = dockerClient({ DOCKER_HOST: `ssh://tester@127.0.0.1:${port}` });
      expect(where).toBe(`ssh://tester@127.0.0.1:${port}`);
      const err = await docker.ping().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(Buffer.concat(received).toString('latin1')).toMatch(/^SSH-2\.0-/);
      const failure = engineFailure(where, err);
      expect(failure).toBeInstanceOf(ExternalServiceError);
      expect(failure?.message).toMatch(
        new RegExp(`^Docker Engine at ssh://tester@127\\.0\\.0\\.1:${port}: SSH failed \\(`),
      );
      expect(failure?.message).not.toContain('\n');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
