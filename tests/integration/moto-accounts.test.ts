/**
 * The fixture the other moto files rely on: on the fast suite's shared moto_server, each
 * `startMoto()` and each `reset()` is an empty AWS account of its own, so files running side by
 * side can use the same table names and reset without touching each other.
 */
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, describe, expect, inject, it } from "vitest";
import { stateTableDefinition } from "../../functions/aws/state.js";
import { MOTO_REGION, type Moto, motoAvailable, startMoto, toolGate } from "../helpers/moto.js";

const shared = inject("sharedMotoEndpoint") !== undefined;
const run = toolGate("moto_server", motoAvailable());

function tables(moto: Moto): Promise<string[]> {
  const client = new DynamoDBClient({
    region: MOTO_REGION,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: moto.env.AWS_ACCESS_KEY_ID ?? "", secretAccessKey: "test" },
  });
  return client.send(new ListTablesCommand({})).then((r) => r.TableNames ?? []);
}

describe.runIf(run && shared)("the shared moto_server", () => {
  const started: Moto[] = [];
  afterAll(async () => {
    for (const moto of started) await moto.stop();
  });

  it("gives each start and each reset an empty account of its own", async () => {
    const first = await startMoto();
    started.push(first);
    const firstKey = first.env.AWS_ACCESS_KEY_ID;
    const client = new DynamoDBClient({
      region: MOTO_REGION,
      endpoint: first.endpoint,
      credentials: { accessKeyId: firstKey ?? "", secretAccessKey: "test" },
    });
    await client.send(new CreateTableCommand(stateTableDefinition("same-name")));
    expect(await tables(first)).toEqual(["same-name"]);

    const second = await startMoto();
    started.push(second);
    expect(second.endpoint).toBe(first.endpoint);
    expect(second.env.AWS_ACCESS_KEY_ID).not.toBe(firstKey);
    expect(await tables(second)).toEqual([]);
    // The SDK's default credentials follow the newest account.
    expect(process.env.AWS_ACCESS_KEY_ID).toBe(second.env.AWS_ACCESS_KEY_ID);

    await second.reset();
    expect(await tables(second)).toEqual([]);
    // A reset moved this file to a new account; the other account keeps its table.
    expect(await client.send(new ListTablesCommand({})).then((r) => r.TableNames)).toEqual(["same-name"]);
  });
});
