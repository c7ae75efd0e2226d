import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

/**
 * Three suites by speed, chosen with --project (see README "Tests"):
 *  - fast: unit and in-process integration tests (moto_server, loopback HTTP); `npm test`, under a minute;
 *  - e2e: spawned processes and whole-pipeline runs; `npm run test:e2e`;
 *  - infra: Terraform against moto_server; `npm run test:infra`.
 * `npm run test:all` (and .ci/run) runs all three.
 */
const FAST_WORKERS = Math.max(2, availableParallelism());

export default defineConfig({
  test: {
    reporters: ["default", "./tests/support/summary-reporter.ts"],
    // Integration suites start moto_server and terraform; give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Runs record alert history by default: keep the tests' out of the user's own history file.
    env: {
      CLOUD_OBSERVABILITY_DATA:
        process.env.CLOUD_OBSERVABILITY_DATA ?? join(tmpdir(), `cloud-observability-tests-${process.pid}`),
    },
    projects: [
      {
        extends: true,
        test: {
          name: "fast",
          include: ["tests/unit/**/*.test.ts", "tests/integration/**/*.test.ts"],
          // vitest's default is one worker fewer than the cores: a single worker on this 2-core
          // machine. Files here wait on moto_server and loopback HTTP part of the time, so one
          // worker per core keeps both busy.
          maxWorkers: FAST_WORKERS,
          // No fresh module graph per file: each file re-importing the AWS SDK, libsql and the
          // pipeline cost about a quarter of the run. The files share no mutable module state
          // (no vi.mock, no env writes beyond the same test credentials), so this is safe here.
          isolate: false,
          // One moto_server for every file; each file works in an AWS account of its own.
          globalSetup: ["./tests/support/moto-global.ts"],
          // vitest refuses projects with different worker counts in one group: in `test:all` the
          // fast files run first, then e2e and infra with vitest's default worker count.
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: "e2e", include: ["tests/e2e/**/*.test.ts"], sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: { name: "infra", include: ["tests/infra/**/*.test.ts"], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
