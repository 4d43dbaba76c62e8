import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // One copy of graphql: dependencies load its CJS build, so our files must too (docs/stack.md #7).
    alias: { graphql: require.resolve("graphql") },
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      { extends: true as const, test: { name: "sqlite", include: ["test/**/*.test.ts"] } },
      // The end-to-end suite again on PostgreSQL, when a server is given (.ci/run gives one). process.test.ts spawns
      // dist/ on SQLite files to test what a crash leaves in them: it stays SQLite-only.
      ...(process.env.TEST_DATABASE_URL
        ? [
            {
              extends: true as const,
              test: {
                name: "postgres",
                include: ["test/e2e/**/*.test.ts"],
                exclude: ["test/e2e/process.test.ts"],
                env: { TEST_STORE: "postgres" },
              },
            },
          ]
        : []),
    ],
  },
});
