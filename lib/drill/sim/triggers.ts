/**
 * The probe function's two triggers as AWS runs them, in the order of their times: an EventBridge
 * schedule once a minute, and the rounds queue's event source, which hands each message over when it
 * comes due and deletes it once the function returned without an error (Lambda Developer Guide, "Using
 * Lambda with Amazon SQS"). Used by the drill, the bench and the probe tests alike.
 */
import type { SimSqs, SimSqsMessage } from './sqs';

export interface ProbeTriggerHandlers {
  /** Move the clock to `ms` (the drill changes the endpoints on the way, and may stop the watch). */
  advanceTo(ms: number): Promise<void>;
  /** The schedule's invocation (`{ "shard": i }`). */
  schedule(): Promise<unknown>;
  /** One invocation for a message, in `index`-th order of the messages handed over so far. */
  message(m: SimSqsMessage, index: number): Promise<unknown>;
}

export class SimProbeTriggers {
  private delivered = 0;

  /** `nextSchedule`: when the schedule next fires (Infinity: no schedule, only the queue). */
  constructor(private readonly sqs: SimSqs, private readonly queueUrl: string, public nextSchedule = Number.POSITIVE_INFINITY) {}

  /** Run every invocation due before `until`, one after another; a message whose invocation threw stays in flight. */
  async runUntil(until: number, on: ProbeTriggerHandlers): Promise<void> {
    for (;;) {
      const delivery = this.sqs.nextDelivery(this.queueUrl);
      if (Math.min(delivery ?? Infinity, this.nextSchedule) >= until) return;
      if (delivery === null || this.nextSchedule <= delivery) {
        await on.advanceTo(this.nextSchedule);
        this.nextSchedule += 60_000;
        await on.schedule();
        continue;
      }
      for (const m of this.sqs.deliver(this.queueUrl, delivery)) {
        await on.advanceTo(m.deliverAt);
        await on.message(m, this.delivered++);
        this.sqs.deleteMessage(this.queueUrl, m.messageId);
      }
    }
  }
}
