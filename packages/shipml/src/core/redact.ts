/**
 * Keeps secrets out of everything ShipML prints or records. Two layers:
 * - known secret values (keys, tokens, passwords read from config or environment) are
 *   registered and replaced wherever they appear;
 * - patterns catch secrets we were never told about: passwords in URLs, Azure account keys
 *   and SAS signatures, AWS secret keys in connection-string style text.
 */

const MASK = '***';

const PATTERNS: Array<[RegExp, string]> = [
  // scheme://user:password@host
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, `$1${MASK}@`],
  // Azure connection strings and similar key=value secrets
  [/((?:AccountKey|SharedAccessSignature|SharedAccessKey|Password|Pwd)=)[^;\s"']+/gi, `$1${MASK}`],
  // SAS query parameters (the signature is the secret)
  [
    /((?:^|[?&\s"'])(?:sig|signature|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=)[^&\s"']+/gi,

    `$1${MASK}`,
  ],
  // Authorization headers
  [
    /((?:authorization|x-amz-security-token)["']?\s*[:=]\s*["']?)(?:Bearer |Basic |SharedKey |AWS4-HMAC-SHA256 )?[^\s"',]+/gi,
    `$1${MASK}`,
  ],
];

export class Redactor {
  private readonly secrets = new Set<string>();

  /** Register secret values; values shorter than 4 characters are ignored (too many false hits). */
  add(...values: Array<string | undefined>): this {
    for (const value of values) {
      if (value !== undefined && value.length >= 4) this.secrets.add(value);
    }
    return this;
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a secret that contains another is masked whole.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) {
      out = out.split(secret).join(MASK);
    }
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  }
}

/**
 * Names of environment variables whose values are secrets wherever they appear. Listed here,
 * not read from the back ends' descriptors, so that the CLI's start-up loads no back end;
 * test/secret-env.test.ts checks that every descriptor's secret variable is on the list.
 */
export const SECRET_ENV_VARS = [
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AZURE_STORAGE_KEY',
  'AZURE_STORAGE_CONNECTION_STRING',
  'AZURE_STORAGE_SAS_TOKEN',
  'SHIPML_REGISTRY_PASSWORD',
  'COSIGN_PASSWORD',
  'SHIPML_TOKEN',
  'PGPASSWORD',
] as const;

/** A redactor that already knows the secrets in `env`. */
export function redactorFromEnv(env: NodeJS.ProcessEnv): Redactor {
  const redactor = new Redactor();
  for (const name of SECRET_ENV_VARS) redactor.add(env[name]);
  // The account key inside a connection string is the secret part.
  const match = /AccountKey=([^;]+)/i.exec(env.AZURE_STORAGE_CONNECTION_STRING ?? '');
  redactor.add(match?.[1]);
  return redactor;
}
