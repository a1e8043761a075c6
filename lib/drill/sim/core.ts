/**
 * What every simulated service shares: the clock, the latencies, the account id, the behaviours set on
 * resources, how AWS errors are raised, and the scheduler that applies state transitions on the clock.
 */
import { SimClock } from './clock';
import { awsError, nextRequestId, type SimService } from './errors';

export interface Latencies {
  apiCallMs: number;
  ec2ForceStopSeconds: number;
  ec2StopSeconds: number;
  rdsPromoteModifyingSeconds: number;
  rdsPromoteRebootingSeconds: number;
  route53SyncSeconds: number;
  /** RDS: a security-group change ("as soon as possible"; no figure is documented) and a reboot (none either). */
  rdsModifySeconds: number;
  rdsRebootSeconds: number;
  /** How long a call to a region whose API is down hangs before the client gives up. */
  unreachableTimeoutSeconds: number;
  /**
   * From PutMetricData until a custom datapoint counts in alarm evaluation. AWS documents no figure; a
   * few seconds is what AWS staff quote on re:Post ("you may also incur a few seconds delay for the data
   * to become available to the alarm"): the drill takes the unkind end.
   */
  cloudwatchIngestSeconds: number;
  /**
   * From an alarm's state change until the Route 53 health check that monitors it changes status. The
   * health check follows "the data stream for a CloudWatch alarm" (Route 53 Developer Guide, "Values that
   * you specify when you create or update health checks"); no delay is documented, and the guide warns
   * that "several minutes might elapse" around health-check status and its notifications ("Monitoring
   * health checks using CloudWatch"). The drill takes a full minute.
   */
  healthCheckFollowsAlarmSeconds: number;
  /**
   * From a health-check status change until the last authoritative name server answers accordingly. No
   * figure is documented for health-driven answers; record changes reach all Route 53 name servers
   * "generally within 60 seconds" (ChangeResourceRecordSets / GetChange INSYNC). The servers pick the
   * change up one after another, the last one this long after.
   */
  route53HealthPropagationSeconds: number;
}

export const DEFAULT_LATENCIES: Readonly<Latencies> = {
  apiCallMs: 100,
  ec2ForceStopSeconds: 15,
  ec2StopSeconds: 60,
  rdsPromoteModifyingSeconds: 60,
  rdsPromoteRebootingSeconds: 120,
  route53SyncSeconds: 45,
  rdsModifySeconds: 20,
  rdsRebootSeconds: 60,
  unreachableTimeoutSeconds: 5,
  cloudwatchIngestSeconds: 10,
  healthCheckFollowsAlarmSeconds: 60,
  route53HealthPropagationSeconds: 60,
};

export interface SimBehavior { stopNeverCompletes?: boolean; promotionFails?: boolean }
export interface SimEvent { at: number; resource: string; from: string; to: string }

/** A state change due at simulated time `at`; `apply` sets the new state and returns the old one. */
export interface Transition { at: number; seq: number; resource: string; to: string; apply: () => string; cancelled?: boolean }

/** Answers one SDK operation from the service's state; throws the error AWS would. */
export type Handler = (input: any, region: string) => object | Promise<object>;

/** What the account needs from each simulated service to route calls to it. */
export interface SimServiceModule {
  /** Operation name (the command's name without `Command`) → its handler. */
  readonly handlers: Readonly<Record<string, Handler>>;
  /** The operations that change something, as reported in `SimApiCall.mutating`. */
  readonly mutating: ReadonlySet<string>;
}

export interface SimCoreOptions { clock?: SimClock; latencies?: Partial<Latencies>; accountId?: string }

export class SimCore {
  readonly clock: SimClock;
  readonly latencies: Latencies;
  readonly accountId: string;

  private readonly behaviors = new Map<string, SimBehavior>();
  private readonly settledEvents: SimEvent[] = [];
  private queue: Transition[] = [];
  private seq = 0;
  private readonly tickers: Array<(until: number) => void> = [];
  private settling = false;

  constructor(opts: SimCoreOptions = {}) {
    this.clock = opts.clock ?? new SimClock();
    this.latencies = { ...DEFAULT_LATENCIES, ...opts.latencies };
    this.accountId = opts.accountId ?? '123456789012';
  }

  // --- behaviours ------------------------------------------------------------------------------

  setBehavior(resourceId: string, b: SimBehavior): void {
    this.behaviors.set(resourceId, { ...this.behaviors.get(resourceId), ...b });
  }

  behaviorOf(resourceId: string): SimBehavior | undefined {
    return this.behaviors.get(resourceId);
  }

  // --- errors ----------------------------------------------------------------------------------

  /** The error the SDK would throw for `name` from `service` (see errors.ts). */
  awsError(service: SimService, name: string, message: string, extra?: Record<string, unknown>): Error {
    return awsError(service, name, message, extra);
  }

  /** A fresh AWS-shaped request id (also used for SNS message ids and default execution names). */
  requestId(): string {
    return nextRequestId();
  }

  // --- the scheduler ---------------------------------------------------------------------------

  /** Every state transition, in the order it took effect. Reading it applies transitions that are due. */
  get events(): SimEvent[] {
    this.settle();
    return this.settledEvents;
  }

  /** Schedules `apply` (which sets the new state and returns the old one) at simulated time `at`. */
  schedule(at: number, resource: string, to: string, apply: () => string): Transition {
    const t: Transition = { at, seq: this.seq++, resource, to, apply };
    this.queue.push(t);
    return t;
  }

  /**
   * Something that happens continuously between transitions (clients writing, say): called with each
   * time up to which the world, as it stands, is known to hold, before the next transition changes it.
   */
  addTicker(tick: (until: number) => void): void {
    this.tickers.push(tick);
  }

  /** Applies, in time order, every transition that is due; transitions happen lazily, when state is read. */
  settle(): void {
    if (this.settling) return;
    this.settling = true;
    try {
      const now = this.clock.now();
      const nextDue = () => this.queue.filter((t) => t.at <= now && !t.cancelled).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      for (;;) {
        // One at a time: a ticker or a transition may schedule another that is due too.
        const next = nextDue();
        if (!next) {
          for (const tick of this.tickers) tick(now);
          if (!nextDue()) break;
          continue;
        }
        for (const tick of this.tickers) tick(next.at);
        this.queue = this.queue.filter((t) => t !== next);
        this.settledEvents.push({ at: next.at, resource: next.resource, from: next.apply(), to: next.to });
      }
      this.queue = this.queue.filter((t) => !t.cancelled);
    } finally {
      this.settling = false;
    }
  }

  /** Records a change that took effect at once, with no transition to wait for. */
  recordEvent(resource: string, from: string, to: string): void {
    this.settledEvents.push({ at: this.clock.now(), resource, from, to });
  }
}
