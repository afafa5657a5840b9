import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/reporters/summary.ts'],
    // The packaging and integration tests start real local servers and osls; a busy CI machine needs room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
