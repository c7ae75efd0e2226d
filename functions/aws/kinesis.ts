import { KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { type AwsClientSettings, KINESIS_ATTEMPTS, sdkClientConfig } from "./client.js";

/** Kinesis caps a PutRecords call at 500 records and 5 MiB, and a record at 1 MiB. */
export const MAX_RECORDS_PER_PUT = 500;
export const MAX_BYTES_PER_PUT = 5 * 1024 * 1024;
export const MAX_RECORD_BYTES = 1024 * 1024;

export interface StreamRecord {
  partitionKey: string;
  data: Uint8Array;
}

export interface PutOutcome {
  sent: number;
  calls: number;
  /** Records Kinesis still refused (throttled shards) after every round; the caller decides. */
  failed: StreamRecord[];
}

/**
 * Put every record, in order per partition key, in as few calls as the limits allow. Kinesis accepts
 * part of a call and refuses the rest per record (a throttled shard), so refused records are sent
 * again, up to `rounds` times; the SDK's own retry strategy handles whole-call failures.
 */
export async function putAllRecords(
  client: KinesisClient,
  streamName: string,
  records: readonly StreamRecord[],
  rounds = 3,
): Promise<PutOutcome> {
  let pending = [...records];
  let sent = 0;
  let calls = 0;
  for (let round = 0; round < rounds && pending.length > 0; round++) {
    const refused: StreamRecord[] = [];
    for (const batch of batches(pending)) {
      calls++;
      const entries: PutRecordsRequestEntry[] = batch.map((r) => ({
        PartitionKey: r.partitionKey,
        Data: r.data,
      }));
      const response = await client.send(new PutRecordsCommand({ StreamName: streamName, Records: entries }));
      (response.Records ?? []).forEach((result, i) => {
        const record = batch[i];
        if (record === undefined) return;
        if (result.ErrorCode) refused.push(record);
        else sent++;
      });
    }
    pending = refused;
  }
  return { sent, calls, failed: pending };
}

function* batches(records: readonly StreamRecord[]): Generator<StreamRecord[]> {
  let batch: StreamRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = record.data.byteLength + Buffer.byteLength(record.partitionKey);
    if (batch.length > 0 && (batch.length >= MAX_RECORDS_PER_PUT || bytes + size > MAX_BYTES_PER_PUT)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(record);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

/**
 * HTTP/1.1, not the client's default HTTP/2: only SubscribeToShard needs HTTP/2, and emulators
 * (moto) speak HTTP/1.1 only. The SDK retries a failed call itself (standard mode, 4 attempts).
 */
export function createKinesisClient(settings: AwsClientSettings): KinesisClient {
  return new KinesisClient({
    ...sdkClientConfig(settings, KINESIS_ATTEMPTS),
    requestHandler: new NodeHttpHandler(),
  });
}
