/** Simulated Step Functions: StartExecution only; the drill runs the executions on the local workflow runner. */
import type * as sfn from '@aws-sdk/client-sfn';
import type { Handler, SimCore, SimServiceModule } from './core';

/** An execution started through StartExecution; the drill runs it on the local workflow runner. */
export interface SimExecution { at: number; stateMachineArn: string; name: string; executionArn: string; input: unknown }

export class SimStepFunctions implements SimServiceModule {
  readonly handlers: Record<string, Handler> = {
    StartExecution: (i, r) => this.startExecution(i, r),
  };
  readonly mutating: ReadonlySet<string> = new Set(['StartExecution']);
  /** Every execution started, in order. */
  readonly startedExecutions: SimExecution[] = [];

  constructor(private readonly core: SimCore) {}

  /**
   * Execution names are unique per state machine (for 90 days): a second StartExecution with a used
   * name fails with ExecutionAlreadyExists, which is what makes a deterministic name a dedupe key.
   */
  private startExecution(input: sfn.StartExecutionInput, region: string): sfn.StartExecutionOutput {
    const machine = input.stateMachineArn ?? '';
    const parts = machine.split(':');
    if (parts[2] !== 'states' || parts[3] !== region || parts[5] !== 'stateMachine') {
      throw this.core.awsError('sfn', 'StateMachineDoesNotExist', `State Machine Does Not Exist: '${machine}'`);
    }
    const name = input.name ?? this.core.requestId();
    const executionArn = `arn:aws:states:${region}:${this.core.accountId}:execution:${parts[6]}:${name}`;
    if (this.startedExecutions.some((e) => e.executionArn === executionArn)) {
      throw this.core.awsError('sfn', 'ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const now = this.core.clock.now();
    this.startedExecutions.push({ at: now, stateMachineArn: machine, name, executionArn, input: JSON.parse(input.input ?? '{}') });
    return { executionArn, startDate: new Date(now) };
  }
}
