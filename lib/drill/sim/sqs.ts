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
 * - A message handed over is in flight for the queue's visibility timeout; the mapping deletes it when
 *   the function succeeds (`deleteMessage`), and otherwise it becomes visible again when the timeout
 *   ends, its receive count one higher. A message received maxReceiveCount times and not deleted goes
 *   to the dead-letter queue at its next receive; one older than the retention period is deleted
 *   ("Using dead-letter queues in Amazon SQS"; "Amazon SQS visibility timeout").
 */
import type * as sqs from '@aws-sdk/client-sqs';
import type { Handler, SimCore, SimServiceModule } from './core';

export interface SimSqsMessage {
  queueUrl: string;
  messageId: string;
  body: string;
  sentAt: number;
  /** When the delay (or the visibility timeout of its last receive) has passed and a poller may take it. */
  visibleAt: number;
  receiveCount: number;
}

/** A queue's settings, as the stack gives them (lib/infra/detection.ts). */
export interface SimQueueSettings {
  visibilityTimeoutMs?: number;
  retentionMs?: number;
  /** Redrive: after this many receives without a delete, the next receive moves it to `deadLetterUrl`. */
  maxReceiveCount?: number;
  deadLetterUrl?: string;
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

  private readonly queues = new Map<string, { settings: SimQueueSettings; messages: SimSqsMessage[] }>();
  private duplicates = 0;

  constructor(private readonly core: SimCore) {}

  /** A queue, by its URL: `https://sqs.<region>.amazonaws.com/<account>/<name>`. */
  addQueue(url: string, settings: SimQueueSettings = {}): void {
    this.queues.set(url, { settings, messages: [] });
  }

  /** The messages a queue holds (visible, delayed or in flight), e.g. a dead-letter queue's. */
  messages(url: string): SimSqsMessage[] {
    return [...this.queueOf(url).messages];
  }

  /** The next `times` deliveries each come twice (at-least-once delivery). */
  duplicateNext(times = 1): void {
    this.duplicates += times;
  }

  /**
   * The messages the mapping hands to the function by `until`, in the order it does (each at
   * `deliverAt`), a duplicated one twice. Each is then in flight until `deleteMessage` (the function
   * succeeded) or its visibility timeout.
   */
  deliver(url: string, until: number): Array<SimSqsMessage & { deliverAt: number }> {
    const queue = this.queueOf(url);
    const { settings } = queue;
    const out: Array<SimSqsMessage & { deliverAt: number }> = [];
    for (const m of [...queue.messages].sort((a, b) => a.visibleAt - b.visibleAt)) {
      const deliverAt = m.visibleAt + this.deliveryLatencyMs;
      if (deliverAt > until) continue;
      if (settings.retentionMs !== undefined && deliverAt - m.sentAt > settings.retentionMs) {
        queue.messages.splice(queue.messages.indexOf(m), 1); // expired: gone without a trace
        continue;
      }
      if (settings.maxReceiveCount !== undefined && m.receiveCount >= settings.maxReceiveCount) {
        queue.messages.splice(queue.messages.indexOf(m), 1);
        if (settings.deadLetterUrl) this.queueOf(settings.deadLetterUrl).messages.push({ ...m, queueUrl: settings.deadLetterUrl, visibleAt: deliverAt });
        continue;
      }
      m.receiveCount += 1;
      m.visibleAt = deliverAt + (settings.visibilityTimeoutMs ?? 30_000);
      out.push({ ...m, deliverAt });
      if (this.duplicates > 0) {
        this.duplicates -= 1;
        out.push({ ...m, deliverAt });
      }
    }
    return out;
  }

  /** The mapping deletes a message the function processed without an error. */
  deleteMessage(url: string, messageId: string): void {
    const queue = this.queueOf(url);
    queue.messages = queue.messages.filter((m) => m.messageId !== messageId);
  }

  /** The earliest time a message of the queue will be handed over, or null when it is empty. */
  nextDelivery(url: string): number | null {
    const queue = this.queueOf(url);
    return queue.messages.length === 0 ? null : Math.min(...queue.messages.map((m) => m.visibleAt + this.deliveryLatencyMs));
  }

  private queueOf(url: string): { settings: SimQueueSettings; messages: SimSqsMessage[] } {
    const queue = this.queues.get(url);
    if (!queue) throw new Error(`SimulatedAccount: no queue ${url}`);
    return queue;
  }

  private sendBatch(input: sqs.SendMessageBatchRequest, region: string): sqs.SendMessageBatchResult {
    const url = input.QueueUrl ?? '';
    const queue = this.queues.get(url)?.messages;
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
      const message: SimSqsMessage = { queueUrl: url, messageId: this.core.requestId(), body: e.MessageBody ?? '', sentAt: now, visibleAt: now + delay * 1000, receiveCount: 0 };
      queue.push(message);
      this.sent.push(message);
      result.Successful!.push({ Id: e.Id, MessageId: message.messageId, MD5OfMessageBody: '' });
    }
    return result;
  }
}
