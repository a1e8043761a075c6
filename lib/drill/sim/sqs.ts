/**
 * Simulated SQS: standard queues with per-message delays, and the delivery an event source mapping
 * makes of them to a function.
 *
 * - SendMessageBatch takes 1 to 10 entries with distinct Ids of at most 80 alphanumeric characters,
 *   hyphens and underscores; anything else fails the whole call (EmptyBatchRequest,
 *   TooManyEntriesInBatchRequest, BatchEntryIdsNotDistinct, InvalidBatchEntryId). "The result of
 *   sending each message is reported individually in the response": an entry whose DelaySeconds is
 *   outside 0 to 900 is in `Failed`, the others are sent (Amazon SQS API Reference, SendMessageBatch,
 *   SendMessageBatchRequestEntry). An unknown queue is QueueDoesNotExist.
 * - A delayed message is invisible until its delay has passed (SQS Developer Guide, "Amazon SQS message
 *   timers"); then a poller of the mapping takes it, at least once: "you might occasionally receive
 *   more than one copy of a message" (SQS Developer Guide, "Amazon SQS at-least-once delivery").
 *   How long after the message becomes visible a poller takes it is not documented; `deliveryLatencyMs`
 *   stands for it, and `duplicateNext` makes the next delivery come twice.
 */
import type * as sqs from '@aws-sdk/client-sqs';
import type { Handler, SimCore, SimServiceModule } from './core';

export interface SimSqsMessage {
  queueUrl: string;
  messageId: string;
  body: string;
  sentAt: number;
  /** When the delay has passed and a poller may take it. */
  visibleAt: number;
}

const ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
const MAX_DELAY_SECONDS = 900;

export class SimSqs implements SimServiceModule {
  readonly handlers: Record<string, Handler> = {
    SendMessageBatch: (i, r) => this.sendBatch(i, r),
  };
  readonly mutating: ReadonlySet<string> = new Set(['SendMessageBatch']);
  /** Every message sent, in order. */
  readonly sent: SimSqsMessage[] = [];
  /** After a message becomes visible, this long until the mapping's poller hands it to the function. */
  deliveryLatencyMs = 200;

  private readonly queues = new Map<string, SimSqsMessage[]>();
  private duplicates = 0;

  constructor(private readonly core: SimCore) {}

  /** A queue, by its URL: `https://sqs.<region>.amazonaws.com/<account>/<name>`. */
  addQueue(url: string): void {
    this.queues.set(url, []);
  }

  /** The next `times` deliveries each come twice (at-least-once delivery). */
  duplicateNext(times = 1): void {
    this.duplicates += times;
  }

  /**
   * The messages the mapping hands to the function by `until`, in the order it does (each at
   * `deliverAt`): taken off the queue, a duplicated one twice.
   */
  deliver(url: string, until: number): Array<SimSqsMessage & { deliverAt: number }> {
    const queue = this.queues.get(url);
    if (!queue) throw new Error(`SimulatedAccount: no queue ${url}`);
    const due = queue.filter((m) => m.visibleAt + this.deliveryLatencyMs <= until).sort((a, b) => a.visibleAt - b.visibleAt);
    this.queues.set(url, queue.filter((m) => !due.includes(m)));
    const out: Array<SimSqsMessage & { deliverAt: number }> = [];
    for (const m of due) {
      out.push({ ...m, deliverAt: m.visibleAt + this.deliveryLatencyMs });
      if (this.duplicates > 0) {
        this.duplicates -= 1;
        out.push({ ...m, deliverAt: m.visibleAt + this.deliveryLatencyMs });
      }
    }
    return out;
  }

  /** The earliest time a message of the queue will be handed over, or null when it is empty. */
  nextDelivery(url: string): number | null {
    const queue = this.queues.get(url) ?? [];
    return queue.length === 0 ? null : Math.min(...queue.map((m) => m.visibleAt + this.deliveryLatencyMs));
  }

  private sendBatch(input: sqs.SendMessageBatchRequest, region: string): sqs.SendMessageBatchResult {
    const url = input.QueueUrl ?? '';
    const queue = this.queues.get(url);
    if (!queue || !url.startsWith(`https://sqs.${region}.`)) throw this.core.awsError('sqs', 'QueueDoesNotExist', 'The specified queue does not exist.');
    const entries = input.Entries ?? [];
    if (entries.length === 0) throw this.core.awsError('sqs', 'EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
    if (entries.length > 10) throw this.core.awsError('sqs', 'TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`);
    const ids = entries.map((e) => e.Id ?? '');
    if (new Set(ids).size !== ids.length) throw this.core.awsError('sqs', 'BatchEntryIdsNotDistinct', 'Id must be distinct among batch entries.');
    const bad = ids.find((id) => !ENTRY_ID.test(id));
    if (bad !== undefined) throw this.core.awsError('sqs', 'InvalidBatchEntryId', `A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long: ${bad}`);

    const now = this.core.clock.now();
    const result: sqs.SendMessageBatchResult = { Successful: [], Failed: [] };
    for (const e of entries) {
      const delay = e.DelaySeconds ?? 0;
      if (!Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_SECONDS) {
        result.Failed!.push({ Id: e.Id, SenderFault: true, Code: 'InvalidParameterValue', Message: `Value ${delay} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.` });
        continue;
      }
      const message: SimSqsMessage = { queueUrl: url, messageId: this.core.requestId(), body: e.MessageBody ?? '', sentAt: now, visibleAt: now + delay * 1000 };
      queue.push(message);
      this.sent.push(message);
      result.Successful!.push({ Id: e.Id, MessageId: message.messageId, MD5OfMessageBody: '' });
    }
    return result;
  }
}
