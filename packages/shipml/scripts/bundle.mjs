#!/usr/bin/env node
// Bundles the CLI (the package's `bin`, dist/cli/main.js) with esbuild, after tsc has written
// dist/: resolving and compiling ~300 small ES modules (zod, yaml, the CLI's own) is most of
// what `shipml build` spent before doing any work. ESM with code splitting, so that the
// per-command dynamic imports of src/cli/commands.ts stay lazy: each becomes a chunk loaded
// only when argv names its command. The library entry points (`import 'shipml'`, the subpath
// exports) stay tsc's output.
//
// Layout: the entry at dist/cli/main.js (replacing tsc's, which nothing imports) is
// scripts/cli-entry.mjs, which turns on node's compile cache and loads src/cli/main.ts; the
// chunks are in dist/cli-chunks/. Both lie two directories below the package root, as every
// source file under src/<dir>/ does, so the `new URL('../../package.json', import.meta.url)`
// of the bundled code still finds what it names. dist/cli-chunks/inputs.json maps each output
// file to the source modules and packages in it (test/entry-points.test.ts checks what a
// command loads).
//
//   node scripts/bundle.mjs        (npm run build runs it after tsc)
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

/* global console */

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(pkg, 'dist');
const chunks = join(dist, 'cli-chunks');

/**
 * Packages left to node's resolver at run time: native add-ons (libsql, ssh2's
 * cpu-features), the cloud and cluster SDKs (large, loaded only by their back end, with
 * optional and dynamic requires of their own), and the server's stack, which a long-running
 * process loads once.
 */
const EXTERNAL = [
  '@aws-sdk/*',
  '@smithy/*',
  '@azure/*',
  '@kubernetes/client-node',
  '@cyclonedx/*',
  '@fastify/*',
  'dockerode',
  'docker-modem',
  'ssh2',
  'cpu-features',
  'fastify',
  'kysely',
  'libsql',
  '@libsql/*',
  'pg',
  'pg-native',
  'prom-client',
  'uplot',
  'playwright-core',
  'vitest',
];

/**
 * `await import('undici')` of a CommonJS package: node gives the namespace its exports by
 * name, esbuild's split output only a `default`. This stands an ES module with the package's
 * export names (read by loading it here) in for every dynamic import of a bundled package.
 */
const dynamicCommonJs = {
  name: 'dynamic-commonjs',
  setup(b) {
    const requireHere = createRequire(join(pkg, 'package.json'));
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.kind !== 'dynamic-import' || args.path.startsWith('node:')) return undefined;
      if (EXTERNAL.some((e) => matches(e, args.path))) return undefined;
      const found = await b.resolve(args.path, {
        kind: 'import-statement',
        resolveDir: args.resolveDir,
      });
      if (found.errors.length || !(await isCommonJs(found.path))) return undefined;
      const names = Object.keys(requireHere(found.path));
      return { path: args.path, namespace: 'dynamic-commonjs', pluginData: names };
    });
    b.onLoad({ filter: /.*/, namespace: 'dynamic-commonjs' }, (args) => {
      const names = args.pluginData.filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default');
      const lines = [`import m from ${JSON.stringify(args.path)};`, 'export default m;'];
      for (const n of names) lines.push(`export const ${n} = m.${n};`);
      return { contents: lines.join('\n'), resolveDir: pkg, loader: 'js' };
    });
  },
};

/**
 * zod's `z` is a namespace object, which esbuild cannot tree-shake: every locale zod ships
 * (~60 of them, 340 kB of source, a quarter of what a command loads) would be compiled by
 * every command, for error messages the CLI only ever gives in English. `z.locales` in the
 * bundle holds English alone; zod's default (`z.config(en())`, in its schemas.js) is unchanged.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

/** A .cjs file, or a .js one whose nearest package.json does not say `"type": "module"`. */
async function isCommonJs(file) {
  if (file.endsWith('.cjs')) return true;
  if (!file.endsWith('.js')) return false;
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined);
    if (manifest !== undefined) return JSON.parse(manifest).type !== 'module';
  }
  return true;
}

/** `@aws-sdk/*` matches `@aws-sdk/client-s3`; a plain name the package and its subpaths. */
function matches(pattern, path) {
  if (pattern.endsWith('/*')) return path.startsWith(pattern.slice(0, -1));
  return path === pattern || path.startsWith(`${pattern}/`);
}

await mkdir(chunks, { recursive: true });
const result = await build({
  absWorkingDir: pkg,
  entryPoints: { 'cli/main': 'scripts/cli-entry.mjs' },
  outdir: dist,
  chunkNames: 'cli-chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  external: EXTERNAL,
  plugins: [dynamicCommonJs, zodEnglishOnly],
  // CommonJS packages in an ES module bundle call require() for node's built-ins.
  banner: {
    js: "import { createRequire as __shipmlCreateRequire } from 'node:module'; const require = __shipmlCreateRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

// Each output file with what went into it: the package's own modules as src/... paths, a
// package's files by its node_modules path.
const inputs = {};
for (const [out, meta] of Object.entries(result.metafile.outputs)) {
  if (out.endsWith('.map')) continue;
  inputs[relative('dist', out)] = Object.keys(meta.inputs).sort();
}
await writeFile(join(chunks, 'inputs.json'), `${JSON.stringify(inputs, null, 1)}\n`);
// Chunk names carry a content hash, so a rebuild writes new files beside the old ones. Those
// of earlier builds go once they are a day old: a CLI that started before this build (a
// `shipml server`, a long `shipml run` in a working tree) still loads the chunks it names.
const written = new Set(Object.keys(result.metafile.outputs).map((o) => join(pkg, o)));
written.add(join(chunks, 'inputs.json'));
const dayAgo = Date.now() - 24 * 3600 * 1000;
for (const file of await readdir(chunks)) {
  const path = join(chunks, file);
  if (!written.has(path) && (await stat(path)).mtimeMs < dayAgo) await rm(path, { force: true });
}
const count = Object.keys(inputs).length - 1;
console.log(`bundled the CLI: dist/cli/main.js and ${count} chunks in dist/cli-chunks/`);
