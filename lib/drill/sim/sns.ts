/** Simulated SNS: topics, and every message published to them. */
import type * as sns from '@aws-sdk/client-sns';
import type { Handler, SimCore, SimServiceModule } from './core';

export interface SimPublished {
  at: number; topicArn: string; subject?: string; message: string; attributes?: Record<string, unknown>;
}

export class SimSns implements SimServiceModule {
  readonly handlers: Record<string, Handler> = {
    Publish: (i, r) => this.publish(i, r),
  };
  readonly mutating: ReadonlySet<string> = new Set(['Publish']);
  /** Every message published, in order. */
  readonly published: SimPublished[] = [];

  private readonly topics = new Set<string>();

  constructor(private readonly core: SimCore) {}

  addTopic(arn: string): void {
    this.topics.add(arn);
  }

  private publish(input: sns.PublishInput, region: string): sns.PublishResponse {
    const arn = input.TopicArn ?? '';
    if (!this.topics.has(arn) || arn.split(':')[3] !== region) throw this.core.awsError('sns', 'NotFoundException', 'Topic does not exist');
    if (!input.Message) throw this.core.awsError('sns', 'InvalidParameterException', 'Invalid parameter: Empty message');
    this.published.push({
      at: this.core.clock.now(), topicArn: arn, subject: input.Subject, message: input.Message,
      attributes: input.MessageAttributes as Record<string, unknown> | undefined,
    });
    return { MessageId: this.core.requestId() };
  }
}
