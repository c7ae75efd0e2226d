import type { KinesisStreamBatchResponse, KinesisStreamEvent } from "aws-lambda";
import type { Logger } from "../lambda/log.js";
import type { InvocationContext, Processor, ProcessorOutcome } from "./processor.js";

export interface KinesisOutcome extends KinesisStreamBatchResponse {
  records: number;
  outcomes: ProcessorOutcome[];
}

/**
 * The processor behind the service stream: every record holds one service's lines (the router's
 * partition key) in the shape of a subscription delivery. Each service has its own Processor and
 * its own state key, so whichever shard's processor holds a service can load its state, and two
 * services never contend for one item. At most `maxLive` services stay in memory; an evicted one
 * reloads from the state store when its next record comes.
 */
export class KinesisProcessor {
  private readonly live = new Map<string, Processor>();

  constructor(
    private readonly createProcessor: (stateKey: string) => Processor,
    private readonly logger: Logger,
    private readonly maxLive = 200,
  ) {}

  /** `context` is shared: each record's publish budget is what remains of the invocation when it starts. */
  async handle(event: KinesisStreamEvent, context?: InvocationContext): Promise<KinesisOutcome> {
    const outcome: KinesisOutcome = { batchItemFailures: [], records: 0, outcomes: [] };
    for (const record of event.Records ?? []) {
      outcome.records++;
      const service = record.kinesis.partitionKey;
      try {
        outcome.outcomes.push(
          await this.processorFor(service).handle({ awslogs: { data: record.kinesis.data } }, context),
        );
      } catch (error) {
        // Records are in order per shard: report this one, and Lambda retries from it (bisecting the
        // batch on repeated failure, then the on-failure destination keeps it).
        this.logger.error("record failed; Lambda retries the batch from it", {
          service,
          sequenceNumber: record.kinesis.sequenceNumber,
          error,
        });
        outcome.batchItemFailures.push({ itemIdentifier: record.kinesis.sequenceNumber });
        return outcome;
      }
    }
    return outcome;
  }

  private processorFor(service: string): Processor {
    let processor = this.live.get(service);
    if (processor !== undefined) {
      // Most recently used last: Map keeps insertion order, so the first key is the one to evict.
      this.live.delete(service);
    } else {
      processor = this.createProcessor(`service#${service}`);
      if (this.live.size >= this.maxLive) {
        const oldest = this.live.keys().next().value;
        if (oldest !== undefined) this.live.delete(oldest);
      }
    }
    this.live.set(service, processor);
    return processor;
  }
}
