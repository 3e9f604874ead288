import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Under vitest, graphql would load twice (its ESM entry for our imports, its CommonJS entry for
  // graphql-yoga's dependencies); plain Node loads one. One copy keeps instanceof checks honest.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    include: ['packages/**/*.spec.ts', 'services/**/*.spec.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
