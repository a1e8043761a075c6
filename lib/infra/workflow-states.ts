/**
 * Which code runs each Task state of the workflow: the step (one Lambda function per step, in
 * lambdas/steps/<step>.ts) and, for steps that serve several states, the action within it. The
 * workflow builds its Task states from this table, and a test holds it against the synthesized
 * definition and the step modules: a state without an entry, or an action no state uses, fails.
 *
 *   FencePrimary → lambdas/steps/fence-primary.ts, ACTIONS.start (startFence)
 */
import type { StepName } from '../../lambdas/steps';

export interface TaskStateCode {
  readonly step: StepName;
  /** The key of the step module's ACTIONS; none for steps that serve one state. */
  readonly action?: string;
  /** Where the state puts its result in the workflow state (`$.<field>`), and the step's short name in timelines. */
  readonly field: string;
  readonly label: string;
}

export const TASK_STATES = {
  Plan: { step: 'plan', field: 'plan', label: 'plan' },
  AcquireLock: { step: 'acquire-lock', field: 'lock', label: 'lock' },
  ConfirmOutage: { step: 'confirm-outage', field: 'confirm', label: 'confirm' },
  AssessReplica: { step: 'assess-replica', field: 'assess', label: 'assess' },
  FencePrimary: { step: 'fence-primary', action: 'start', field: 'fence', label: 'fence' },
  CheckFence: { step: 'fence-primary', action: 'check', field: 'fence', label: 'fence' },
  FenceDatabase: { step: 'fence-database', action: 'start', field: 'databaseFence', label: 'fence-db' },
  CheckDatabaseFence: { step: 'fence-database', action: 'check', field: 'databaseFence', label: 'fence-db' },
  VerifyFencesBeforePromotion: { step: 'verify-fences', action: 'promotion', field: 'verify', label: 'verify' },
  VerifyFencesBeforeDns: { step: 'verify-fences', action: 'dns', field: 'verify', label: 'verify' },
  SwitchoverPrecheck: { step: 'catch-up', action: 'precheck', field: 'assess', label: 'assess' },
  CheckCatchUp: { step: 'catch-up', action: 'wait', field: 'assess', label: 'assess' },
  PromoteReplica: { step: 'promote-replica', action: 'start', field: 'promote', label: 'promote' },
  CheckPromotion: { step: 'promote-replica', action: 'check', field: 'promote', label: 'promote' },
  MeasureDataLoss: { step: 'promote-replica', action: 'measure', field: 'promote', label: 'loss' },
  ReadDnsRecords: { step: 'flip-dns', action: 'prepare', field: 'dns', label: 'dns' },
  ApplyDnsChange: { step: 'flip-dns', action: 'apply', field: 'dns', label: 'dns' },
  CheckDnsSync: { step: 'flip-dns', action: 'check', field: 'dns', label: 'dns' },
  Notify: { step: 'notify', field: 'notification', label: 'notify' },
  NotifyRecordLost: { step: 'notify', field: 'recordLostNotification', label: 'notify' },
  Record: { step: 'record-outcome', field: 'record', label: 'record' },
} as const satisfies Record<string, TaskStateCode>;

export type TaskStateName = keyof typeof TASK_STATES;
