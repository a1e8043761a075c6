/**
 * The shape of a failover execution's state as it flows through the state machine. Each step reads the
 * whole state and returns its own part, which the state machine stores at `$.<step>` (ResultPath).
 */
import type { VantageView } from './vantage';
export type TriggerType = 'probe' | 'alarm' | 'manual';
export type Mode = 'failover' | 'switchover';

/** What starts an execution. */
export interface ExecutionInput {
  group: string;
  reason: string;
  trigger: Trigger;
  dryRun?: boolean;
  force?: boolean;
  mode?: Mode;
  /** Manual executions only: the operator states that the writers are fenced by other means. */
  attestation?: { by?: string; reason: string };
}

/**
 * What started an execution, as our own triggers send it (the Plan step accepts no other field): the
 * probe function, the alarm rule, failoverctl (and the drill).
 */
export interface Trigger {
  type: TriggerType;
  /** ISO time the trigger fired: the probes' deciding round, the alarm's state change, the command. */
  at?: string;
  /** probe: ISO time of the first failed round. */
  outageStartedAt?: string;
  /** probe: how many consecutive rounds failed. */
  failedRounds?: number;
  /** alarm: the alarm's name and its state reason. */
  alarmName?: string;
  stateReason?: string;
  /** manual: who (user@host), and whether it ran on the operator's machine (break-glass). */
  by?: string;
  local?: boolean;
}

/**
 * An operator's statement that the group's writers are fenced by means the controller cannot see (the
 * region is dark, the instance was terminated by hand). Only a manual execution carries one; with it the
 * workflow proceeds past a fence it cannot complete, and says so in the record.
 */
export interface Attestation {
  by: string;
  reason: string;
  /** ISO time the execution was planned with it. */
  at: string;
}

export type Outcome =
  | 'SUCCEEDED'
  | 'DRY_RUN'
  | 'SKIPPED'
  | 'ABORTED'
  | 'FENCE_FAILED'
  | 'PROMOTION_FAILED'
  | 'DNS_FAILED'
  | 'FAILED';

/** Outcomes in which the controller did what it should; the execution ends successfully. */
export const SUCCESSFUL_OUTCOMES: readonly Outcome[] = ['SUCCEEDED', 'DRY_RUN', 'SKIPPED', 'ABORTED'];

export interface Plan {
  executionArn: string;
  executionName: string;
  /**
   * The group, by name, and the digest of its deployed config the execution was planned with. No step
   * acts on anything here but the name: each reads the group's config from its own deployment
   * (lambdas/core/deployed-group.ts). Executions planned by earlier versions carry the whole config
   * here, without a digest.
   */
  group: { name: string; digest?: string };
  reason: string;
  trigger: Trigger;
  mode: Mode;
  dryRun: boolean;
  force: boolean;
  /** Epoch ms: when the workflow started, and when the trigger fired (for the RTO). */
  startedAt: number;
  triggeredAt: number;
  attestation?: Attestation;
}

/** Epoch ms. */
export interface Timed {
  startedAt: number;
  endedAt?: number;
}

export interface LockResult extends Timed {
  acquired: boolean;
  /** The execution that holds the lock (this one when acquired). */
  holder?: string;
  expiresAt?: number;
  reason: string;
  /** Not acquired, and the trigger's outage is left unhandled (the group may not fail over now): notify it. */
  notify?: boolean;
}

export interface ConfirmResult extends Timed {
  /** True when the outage is confirmed (or there is nothing to confirm against). */
  confirmed: boolean;
  reason: string;
  results?: Array<{ probe: string; ok: boolean; error?: string }>;
  /** With vantages configured: every vantage's view, the controller's first (lambdas/core/vantage.ts). */
  vantages?: VantageView[];
  /** The vantages disagreed: one saw the primary down, another up. */
  disagree?: boolean;
}

export interface ReplicaView {
  id: string;
  region: string;
  status: string;
  isReplica: boolean;
  sourceId?: string;
  endpointAddress?: string;
  /** DescribeDBInstances Engine and EngineVersion ('postgres', '16.3'), when RDS gave them. */
  engine?: string;
  engineVersion?: string;
  /** Its StatusInfos entry of type 'read replication', when RDS gave one. */
  replication?: { status: string; normal: boolean; message?: string };
}

/** One candidate replica as the gate judged it (see lambdas/core/replica-lag.ts). */
export interface CandidateAssessment {
  id: string;
  region: string;
  engine: string | null;
  /** `pass`: may be promoted; `force`: only with force; `fail`: never (missing, not a replica, not available). */
  verdict: 'pass' | 'force' | 'fail';
  /** The gate's sentence about this replica. */
  reason: string;
  /** The ReplicaLag the gate judged (the latest datapoint before the outage), in seconds. */
  lagSeconds: number | null;
  /** Epoch ms: every write committed up to here is on the replica (a lower bound); null when nothing bounds it. */
  replicatedThrough: number | null;
  /** How replicatedThrough was derived, or why it is unknown. */
  basis: string;
  /** Where the source's OldestReplicationSlotLag was read (PostgreSQL), for the refinement after the promotion. */
  source?: { id: string; region: string; slotLagTrusted: boolean };
}

export interface AssessResult extends Timed {
  decision: 'proceed' | 'abort' | 'wait';
  reason: string;
  /** The replica lag in seconds: the data-loss estimate. null when no datapoint was found. */
  lagSeconds: number | null;
  replica?: ReplicaView;
  /** Every candidate replica, in config order, with the gate's verdict. */
  candidates?: CandidateAssessment[];
  /** The candidate to promote (set when the decision is proceed, or while a switchover waits). */
  chosen?: { id: string; region: string };
  /** Epoch ms: the outage's start the gate judged the replicas at, and what said so. */
  outageStartedAt?: number;
  outageStartBasis?: string;
}

/** One writer of the group, as the record shows it. */
export interface Writer {
  kind: 'ec2' | 'rds';
  id: string;
  region: string;
  /** Last observed state ('not-found', 'unreachable' when the API could not be reached). */
  state: string;
  /** True when AWS's answers show it can no longer accept writes. */
  fenced: boolean;
  /** force-stop, stop, isolate, sg+reboot (database), none (already down), attested. */
  method: string;
}

/** One EC2 writer (the primary or an additional instance) through the fence. */
export interface InstanceFence {
  id: string;
  state: string;
  fenced: boolean;
  method: 'force-stop' | 'stop' | 'isolate' | 'attested';
  /** This execution saw the instance exist, so a later NotFound means it was terminated. */
  seen: boolean;
  /** Its Auto Scaling group, whose replacing processes were suspended before the stop. */
  autoScalingGroup?: string;
  suspendedProcesses?: string[];
  /** Epoch ms the interfaces were confirmed in the isolation group. */
  isolatedAt?: number;
  isolation?: { securityGroupId: string; networkInterfaces: string[] };
  /** How many times a stop was sent (re-sent while it stays stopping, or after it was started again). */
  stops: number;
  reason: string;
}

export interface FenceResult extends Timed {
  instanceId: string;
  confirmed: boolean;
  /** The instance's last observed state ('gone' when EC2 no longer knows it). */
  state: string;
  /** Which fence held: the stop (forced or graceful), or network isolation when the stop was not confirmed. */
  method: 'force-stop' | 'stop' | 'isolate';
  isolation?: { securityGroupId: string; networkInterfaces: string[] };
  dryRun: boolean;
  reason: string;
  polls: number;
  /** Every EC2 writer, the primary first. */
  instances?: InstanceFence[];
  /** Writers the controller could not fence, passed on the operator's attestation. */
  attested?: string[];
}

/** The old database (the replica's source) through its fence. */
export interface DatabaseFenceResult extends Timed {
  id: string;
  region: string;
  engine?: string;
  /** Last observed DBInstanceStatus ('not-found', 'unreachable'). */
  status: string;
  /** isolating → rebooting → confirmed (or none: already failed; attested). */
  phase: 'isolating' | 'rebooting' | 'confirmed';
  method: 'sg+reboot' | 'none' | 'attested';
  confirmed: boolean;
  fenceSecurityGroupId?: string;
  /** Its security groups before the fence, to restore by hand. */
  originalSecurityGroupIds?: string[];
  rebootRequestedAt?: number;
  /** RDS reported the source `rebooting` after the reboot was requested. */
  rebootObserved?: boolean;
  /** Epoch ms the source was confirmed isolated and rebooted: no connection from before survives. */
  confirmedAt?: number;
  dryRun: boolean;
  reason: string;
  polls: number;
}

/** A re-check of every fence, immediately before the promotion and again before the DNS change. */
export interface VerifyResult extends Timed {
  stage: 'promotion' | 'dns';
  confirmed: boolean;
  writers: Writer[];
  /** Instances found running (or stopping) again and stopped again at this stage. */
  restopped: string[];
  reason: string;
  polls: number;
  /** Earlier stages' results, oldest first. */
  previous?: Array<Pick<VerifyResult, 'stage' | 'confirmed' | 'reason' | 'startedAt' | 'endedAt'>>;
}

export interface PromoteResult extends Timed {
  dbInstanceIdentifier: string;
  confirmed: boolean;
  status: string;
  endpointAddress?: string;
  alreadyPromoted: boolean;
  dryRun: boolean;
  reason: string;
  polls: number;
  /**
   * The chosen replica's replicated-through bound, refined once the promotion is confirmed with the
   * datapoints that arrived meanwhile (never lower than the assess step's).
   */
  replicatedThrough?: number | null;
  replicationBasis?: string;
}

export interface DnsChange {
  name: string;
  type: string;
  ttl: number;
  /** The record before the change; null when it did not exist. */
  before: { ttl: number; values: string[] } | null;
  after: string[];
}

export interface DnsResult extends Timed {
  changes: DnsChange[];
  changeId?: string;
  /** Epoch ms when the change batch was accepted: the sync timeout counts from here. */
  submittedAt?: number;
  status?: string;
  confirmed: boolean;
  dryRun: boolean;
  reason: string;
  polls: number;
}

export interface NotificationResult {
  notified: boolean;
  messageId?: string;
  error?: string;
  at: number;
}

export interface StepErrorOutput {
  Error: string;
  Cause?: string;
}

export interface WorkflowState {
  plan: Plan;
  lock?: LockResult;
  confirm?: ConfirmResult;
  assess?: AssessResult;
  fence?: FenceResult;
  databaseFence?: DatabaseFenceResult;
  verify?: VerifyResult;
  promote?: PromoteResult;
  dns?: DnsResult;
  outcome?: Outcome;
  error?: StepErrorOutput;
  notification?: NotificationResult;
}
