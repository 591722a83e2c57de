import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Tests talk to real servers (MinIO, Azurite) and move real bytes; give them room.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: run files two at a time so large-transfer tests do not starve each other.
    maxWorkers: 2,
  },
});
