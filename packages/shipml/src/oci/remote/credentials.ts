import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';

/** Credentials for one registry, and where they came from (for messages; never the secret). */
export interface RegistryCredential {
  username?: string | undefined;
  password?: string | undefined;
  /** An OAuth2 refresh token (`identitytoken`, as `az acr login` writes). */
  identityToken?: string | undefined;
  source: string;
}

const DockerConfigSchema = z.looseObject({
  auths: z
    .record(
      z.string(),
      z.looseObject({
        auth: z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        identitytoken: z.string().optional(),
      }),
    )
    .optional(),
  credsStore: z.string().optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
});

export interface CredentialOptions {
  env: NodeJS.ProcessEnv;
  /** Explicit credentials (ShipML config), used before anything else. */
  explicit?: { username?: string | undefined; password?: string | undefined } | undefined;
}

/**
 * Finds credentials for `registry`, first found: explicit (shipml.yaml), the environment
 * (SHIPML_REGISTRY_USERNAME / SHIPML_REGISTRY_PASSWORD), then Docker's config.json
 * ($DOCKER_CONFIG or ~/.docker): credHelpers[registry], credsStore, auths[registry].
 * Undefined means anonymous.
 */
export async function findCredentials(
  registry: string,
  options: CredentialOptions,
): Promise<RegistryCredential | undefined> {
  if (options.explicit?.username || options.explicit?.password) {
    return {
      username: options.explicit.username,
      password: options.explicit.password,
      source: 'the registry settings in shipml.yaml',
    };
  }
  const { env } = options;
  if (env.SHIPML_REGISTRY_USERNAME || env.SHIPML_REGISTRY_PASSWORD) {
    return {
      username: env.SHIPML_REGISTRY_USERNAME,
      password: env.SHIPML_REGISTRY_PASSWORD,
      source: 'environment (SHIPML_REGISTRY_USERNAME/SHIPML_REGISTRY_PASSWORD)',
    };
  }
  const file = join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = DockerConfigSchema.safeParse(JSON.parse(text) as unknown);
  if (!parsed.success) throw new ConfigError(`${file}: not a valid Docker config file`);
  const config = parsed.data;
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  if (helper) {
    const fromHelper = await runHelper(helper, registry, env);
    if (fromHelper) return fromHelper;
  }
  const entry = Object.entries(config.auths ?? {}).find(([key]) => hostOf(key) === registry)?.[1];
  if (!entry) return undefined;
  const source = `${file} (auths)`;
  if (entry.identitytoken)
    return { identityToken: entry.identitytoken, username: entry.username, source };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0)
      throw new ConfigError(`${file}: auths.${registry}.auth is not base64 of user:password`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source };
  }
  return { username: entry.username, password: entry.password, source };
}

/** `https://index.docker.io/v1/` and `myreg:5000` both name hosts. */
function hostOf(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' ? 'registry-1.docker.io' : host;
}

/** Runs `docker-credential-<helper> get` (the credential helper protocol). */
function runHelper(
  helper: string,
  registry: string,
  env: NodeJS.ProcessEnv,
): Promise<RegistryCredential | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${helper}`, ['get'], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () =>
      reject(
        new ConfigError(
          `Docker credential helper docker-credential-${helper} (for ${registry}) is not installed`,
        ),
      ),
    );
    child.on('close', (code) => {
      if (code !== 0) return resolve(undefined); // "credentials not found"
      try {
        const found = z.object({ Username: z.string(), Secret: z.string() }).parse(JSON.parse(out));
        const source = `Docker credential helper ${helper}`;
        resolve(
          found.Username === '<token>'
            ? { identityToken: found.Secret, source }
            : { username: found.Username, password: found.Secret, source },
        );
      } catch {
        reject(
          new ConfigError(
            `Docker credential helper ${helper} returned something other than {Username, Secret}`,
          ),
        );
      }
    });
    child.stdin.end(registry);
  });
}
