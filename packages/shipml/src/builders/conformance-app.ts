/**
 * The app every image builder builds in the conformance suite: a Node.js HTTP server (no
 * dependencies) that reports the model it runs with, as the image gives it to the app —
 * MODEL_* environment variables and the files at MODEL_PATH. Shipped with the suite, so a
 * builder outside this repository builds exactly the same app.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** What the app answers on GET /version. */
export interface VersionReport {
  modelName: string | null;
  modelVersion: string | null;
  modelDigest: string | null;
  modelPath: string | null;
  /** The file names at MODEL_PATH, sorted. */
  files: string[];
  /** Their total size. */
  bytes: number;
}

/** The port the app listens on in its container. */
export const CONFORMANCE_APP_PORT = 8080;

const SERVER = `'use strict';
const { createServer } = require('node:http');
const { readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.MODEL_PATH;
const files = dir ? readdirSync(dir).sort() : [];
const bytes = files.reduce((n, f) => n + statSync(join(dir, f)).size, 0);

const server = createServer((req, res) => {
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.url === '/readyz') return send(files.length ? 200 : 503, {});
  if (req.url === '/version')
    return send(200, {
      modelName: process.env.MODEL_NAME ?? null,
      modelVersion: process.env.MODEL_VERSION ?? null,
      modelDigest: process.env.MODEL_DIGEST ?? null,
      modelPath: dir ?? null,
      files,
      bytes,
    });
  send(404, {});
});
server.listen(${CONFORMANCE_APP_PORT}, '0.0.0.0');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const PACKAGE = { name: 'conformance-app', version: '1.0.0', private: true };
const LOCK = {
  name: PACKAGE.name,
  version: PACKAGE.version,
  lockfileVersion: 3,
  requires: true,
  packages: { '': { name: PACKAGE.name, version: PACKAGE.version } },
};

/**
 * Writes the app into `dir`: package.json, package-lock.json, server.js (run as
 * `node server.js` from the workdir), plus `extra` files a builder needs (a Dockerfile).
 */
export async function writeConformanceApp(
  dir: string,
  extra: Readonly<Record<string, string>> = {},
): Promise<void> {
  const files: Record<string, string> = {
    'package.json': `${JSON.stringify(PACKAGE, null, 2)}\n`,
    'package-lock.json': `${JSON.stringify(LOCK, null, 2)}\n`,
    'server.js': SERVER,
    ...extra,
  };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}
