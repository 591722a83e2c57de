/**
 * Which Docker Engine to talk to, read the way the docker CLI reads it — DOCKER_HOST
 * (`unix://`, `tcp://`, `ssh://`, `npipe://`), DOCKER_TLS_VERIFY, DOCKER_TLS and
 * DOCKER_CERT_PATH — and a dockerode client for it.
 * https://docs.docker.com/reference/cli/docker/#environment-variables
 */
import { existsSync, readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { ConfigError, systemCode } from '../../core/errors.js';

/** The socket the docker CLI uses when DOCKER_HOST is unset. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/**
 * What docker-modem's constructor takes. Every key is always present (undefined when unused):
 * docker-modem merges our options over defaults it reads from `process.env` itself, and a key
 * left out would let the process's DOCKER_HOST win over the environment ShipML was given.
 */
export interface ModemOptions {
  socketPath: string | undefined;
  host: string | undefined;
  port: number | undefined;
  protocol: 'http' | 'https' | 'ssh' | undefined;
  pathPrefix: string | undefined;
  username: string | undefined;
  ca: Buffer | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
  /** Only for TLS without verification (DOCKER_TLS without DOCKER_TLS_VERIFY). */
  agent: HttpsAgent | undefined;
  timeout: number | undefined;
  sshOptions: { agent?: string | undefined } | undefined;
}

/** Where an engine is and how to reach it. */
export interface EngineEndpoint {
  kind: 'unix' | 'npipe' | 'tcp' | 'ssh';
  /**
   * The address for messages, secret-free: `/var/run/docker.sock`,
   * `tcp://127.0.0.1:2376 (TLS)`, `ssh://deploy@host:22`.
   */
  where: string;
  modem: ModemOptions;
}

const NONE: ModemOptions = {
  socketPath: undefined,
  host: undefined,
  port: undefined,
  protocol: undefined,
  pathPrefix: undefined,
  username: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
  agent: undefined,
  timeout: undefined,
  sshOptions: undefined,
};

/**
 * Reads DOCKER_HOST and the TLS variables from `env` (never from process.env). As in the
 * docker CLI, DOCKER_TLS_VERIFY or DOCKER_TLS set to any non-empty value turns TLS on (the
 * first also verifies the engine's certificate against DOCKER_CERT_PATH/ca.pem), and
 * DOCKER_CERT_PATH defaults to ~/.docker. A bad address or missing certificate file is a
 * ConfigError naming the variable.
 */
export function engineEndpoint(env: NodeJS.ProcessEnv): EngineEndpoint {
  const host = env.DOCKER_HOST?.trim() || `unix://${DEFAULT_DOCKER_SOCKET}`;
  if (host.startsWith('unix://')) {
    const path = host.slice('unix://'.length) || DEFAULT_DOCKER_SOCKET;
    return { kind: 'unix', where: path, modem: { ...NONE, socketPath: path } };
  }
  if (host.startsWith('npipe://')) {
    const path = host.slice('npipe://'.length) || '//./pipe/docker_engine';
    return { kind: 'npipe', where: path, modem: { ...NONE, socketPath: path } };
  }
  const url = parseUrl(host.includes('://') ? host : `tcp://${host}`, host);
  if (url.protocol === 'tcp:') return tcpEndpoint(url, env);
  if (url.protocol === 'ssh:') return sshEndpoint(url, env);
  throw new ConfigError(
    `DOCKER_HOST=${shown(host)}: ShipML reaches engines over unix://, tcp:// and ssh://`,
    { hint: 'e.g. DOCKER_HOST=tcp://host:2376 with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH' },
  );
}

function tcpEndpoint(url: URL, env: NodeJS.ProcessEnv): EngineEndpoint {
  const verify = Boolean(env.DOCKER_TLS_VERIFY);
  const tls = verify || Boolean(env.DOCKER_TLS);
  if (url.username || url.password)
    throw new ConfigError(`DOCKER_HOST=${shown(url.href)}: tcp:// addresses take no user`);
  // The docker CLI's defaults: 2376 for TLS, 2375 for plain HTTP.
  const port = url.port ? Number(url.port) : tls ? 2376 : 2375;
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const where = `tcp://${url.hostname}:${port}${tls ? (verify ? ' (TLS)' : ' (TLS, unverified)') : ''}`;
  const base = { ...NONE, host: hostname, port, pathPrefix: '/' };
  if (!tls) return { kind: 'tcp', where, modem: { ...base, protocol: 'http' } };
  const files = certificates(env, verify);
  return {
    kind: 'tcp',
    where,
    modem: {
      ...base,
      protocol: 'https',
      ...files,
      // Without DOCKER_TLS_VERIFY the docker CLI encrypts but accepts any server certificate.
      agent: verify ? undefined : new HttpsAgent({ rejectUnauthorized: false }),
    },
  };
}

function sshEndpoint(url: URL, env: NodeJS.ProcessEnv): EngineEndpoint {
  if (url.password)
    throw new ConfigError(
      `DOCKER_HOST=${shown(url.href)}: a password in an ssh:// address is not supported`,
      { hint: 'load the key into an SSH agent (ssh-add); ShipML uses the agent at SSH_AUTH_SOCK' },
    );
  if (url.pathname && url.pathname !== '/')
    throw new ConfigError(`DOCKER_HOST=${shown(url.href)}: ssh:// addresses take no path`);
  const username = decodeURIComponent(url.username) || env.USER || env.LOGNAME;
  if (!username)
    throw new ConfigError(`DOCKER_HOST=${url.href}: no user (ssh://user@host) and USER is unset`);
  const port = url.port ? Number(url.port) : 22;
  return {
    kind: 'ssh',
    where: `ssh://${username}@${url.hostname}:${port}`,
    modem: {
      ...NONE,
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port,
      protocol: 'ssh',
      pathPrefix: '/',
      username,
      // docker-modem dials with ssh2 and runs `docker system dial-stdio` on the remote side.
      sshOptions: { agent: env.SSH_AUTH_SOCK },
    },
  };
}

/** ca.pem (needed to verify), cert.pem + key.pem (the client certificate, when present). */
function certificates(
  env: NodeJS.ProcessEnv,
  verify: boolean,
): { ca: Buffer | undefined; cert: Buffer | undefined; key: Buffer | undefined } {
  const dir = env.DOCKER_CERT_PATH || join(env.HOME || homedir(), '.docker');
  const named = env.DOCKER_CERT_PATH ? 'DOCKER_CERT_PATH' : 'the default DOCKER_CERT_PATH';
  const read = (file: string, needed: boolean): Buffer | undefined => {
    const path = join(dir, file);
    if (!needed && !existsSync(path)) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(
        `DOCKER_TLS_VERIFY is set but ${path} cannot be read (${systemCode(err) ?? 'error'}); ${named} must hold ca.pem, cert.pem and key.pem`,
        { cause: err, hint: 'ca.pem is the CA that signed the engine certificate' },
      );
    }
  };
  const ca = read('ca.pem', verify);
  const cert = read('cert.pem', false);
  const key = read('key.pem', false);
  if (Boolean(cert) !== Boolean(key))
    throw new ConfigError(
      `${named} ${dir} has ${cert ? 'cert.pem but no key.pem' : 'key.pem but no cert.pem'}: a client certificate needs both`,
    );
  return { ca, cert, key };
}

function parseUrl(value: string, original: string): URL {
  try {
    return new URL(value);
  } catch {
    throw new ConfigError(`DOCKER_HOST=${shown(original)} is not an address`, {
      hint: 'unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host',
    });
  }
}

/** DOCKER_HOST for messages: anything between `//` and `@` (user, password) hidden. */
function shown(value: string): string {
  return value.replace(/\/\/[^/@]*@/, '//***@');
}

type DockerConstructor = new (options: Docker.DockerOptions) => Docker;
const requireHere = createRequire(import.meta.url);

/**
 * A dockerode client for the engine `env` names, and where that is (for messages). dockerode
 * is loaded on the first call, not when this module is imported: importing `shipml` loads no
 * Docker SDK. (It is `require`d, not `import()`ed, so that callers that construct synchronously
 * — the Docker target — can use it too; dockerode is a CommonJS package.)
 */
export function dockerClient(env: NodeJS.ProcessEnv): {
  docker: Docker;
  where: string;
  endpoint: EngineEndpoint;
} {
  const endpoint = engineEndpoint(env);
  const Dockerode = requireHere('dockerode') as DockerConstructor;
  const docker = new Dockerode(endpoint.modem);
  return { docker, where: endpoint.where, endpoint };
}
