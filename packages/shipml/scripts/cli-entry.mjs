#!/usr/bin/env node
// The bundled bin's entry (scripts/bundle.mjs writes it to dist/cli/main.js): node's compile
// cache (22.1+) goes on before any of the CLI's code loads, so all of it is cached for the
// next run — src/cli/main.ts and what it imports are a chunk this loads. Node 20: a no-op.
import nodeModule from 'node:module';

nodeModule.enableCompileCache?.();
const { runCli } = await import('../src/cli/main.ts');
await runCli();
