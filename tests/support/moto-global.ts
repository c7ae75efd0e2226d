import type { TestProject } from "vitest/node";
import { motoAvailable, spawnMoto } from "../helpers/moto.js";

/**
 * One moto_server for the whole fast suite instead of one per file (each start is about 1.3 s of
 * CPU). It is spawned here without waiting: each file that needs it waits until it answers (and
 * configures it, idempotently), so a run of unit files alone does not wait for it. Files keep apart by account (see
 * tests/helpers/moto.ts). Without moto_server nothing is provided and each file decides to skip.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (!motoAvailable()) return undefined;
  const moto = await spawnMoto();
  project.provide("sharedMotoEndpoint", moto.endpoint);
  return async () => {
    await moto.stop();
  };
}
