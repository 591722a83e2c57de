/**
 * The PostgreSQL scripts/postgres.sh starts (SHIPML_TEST_POSTGRES_URL), and fresh databases
 * on it, one per test file, so files running in parallel never see each other's rows.
 *
 * Without the variable the PostgreSQL cases skip, except under CI, where they must run and
 * fail loudly instead (the rule of docker-host.test.ts).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const postgresUrl = process.env.SHIPML_TEST_POSTGRES_URL;
export const skipPostgres = !postgresUrl && !process.env.CI;
export const SKIP_POSTGRES_REASON =
  'skipped: SHIPML_TEST_POSTGRES_URL is unset (run scripts/postgres.sh start and source .shipml/services/postgres/env; CI fails instead of skipping)';

function requiredUrl(): string {
  if (!postgresUrl)
    throw new Error(
      'SHIPML_TEST_POSTGRES_URL is not set: scripts/postgres.sh start writes it to .shipml/services/postgres/env',
    );
  return postgresUrl;
}

/** The URL with another database (and the same credentials). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Creates an empty database; returns its URL and a function that drops it. */
export async function freshDatabase(
  label: string,
  base = requiredUrl(),
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `shipml_${label}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(base, name),
    drop: async () => {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
