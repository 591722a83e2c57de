import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: the HTTP, integration and browser files each start a server; run files one
    // after another so timings (and the 200-request test) do not fight for the CPU.
    fileParallelism: false,
  },
});
