/**
 * Run the synthesized state machine locally with aws-local-stepfunctions: every Task state runs the real
 * step code in-process (the step chosen by the function ARN in the definition), Wait states and retry
 * pauses take no wall time but move the simulated clock forward by what they would have waited.
 */
import type * as LocalSfn from 'aws-local-stepfunctions' with { 'resolution-mode': 'import' };
import { runStep, type StepName } from '../../lambdas/steps';
import type { StepDeps } from '../../lambdas/runtime/deps';
import type { RunnableWorkflow } from './prepared-workflow';
import { DRILL_ACCOUNT, DRILL_REGION } from './drill-account';

// The package ships a CommonJS build; only its type declarations are ES-module-only.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ExecutionError, StateMachine } = require('aws-local-stepfunctions') as typeof LocalSfn;

// aws-local-stepfunctions uses Promise.withResolvers, which Node gained in 22.
const promiseCtor = Promise as unknown as { withResolvers?: unknown };
promiseCtor.withResolvers ??= function withResolvers<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

export interface Clock {
  now(): number;
  advance(ms: number): void;
}

/** A Lambda-level fault: the named state's function dies (before or after doing its work). */
export interface TaskFault {
  state: string;
  when: 'before' | 'after';
  /** How many invocations die; default 1. */
  times?: number;
  error?: string;
}

export interface ExecutionResult {
  executionArn: string;
  executionName: string;
  input: unknown;
  status: 'SUCCEEDED' | 'FAILED';
  output?: any;
  error?: string;
  cause?: string;
  /** Wall time this execution spent in the controller: step code, state transitions and store calls. */
  wallMs: number;
  /** Every task invocation, in order, with simulated times. */
  tasks: Array<{ state: string; step: StepName; at: number; error?: string }>;
}

export class LocalWorkflow {
  private readonly taskStates = new Map<string, StepName>();
  private readonly waitSeconds = new Map<string, number>();
  private readonly retriers = new Map<string, { errors: string[]; interval: number; backoff: number; maxDelay: number }>();

  constructor(
    private readonly synth: RunnableWorkflow,
    private readonly deps: StepDeps,
    private readonly clock: Clock,
    private readonly faults: TaskFault[] = [],
  ) {
    for (const [name, state] of Object.entries(synth.definition.States as Record<string, any>)) {
      if (state.Type === 'Task') {
        const step = synth.stepsByFunctionArn.get(state.Resource);
        if (!step) throw new Error(`state ${name} invokes ${state.Resource}, which is no step of this stack`);
        this.taskStates.set(name, step);
        const retrier = state.Retry?.[0];
        if (retrier) {
          this.retriers.set(name, {
            errors: retrier.ErrorEquals,
            interval: retrier.IntervalSeconds ?? 1,
            backoff: retrier.BackoffRate ?? 2,
            maxDelay: retrier.MaxDelaySeconds ?? Infinity,
          });
        }
      }
      if (state.Type === 'Wait') {
        if (typeof state.Seconds !== 'number') throw new Error(`Wait state ${name} has no fixed Seconds; the drill cannot time it`);
        this.waitSeconds.set(name, state.Seconds);
      }
    }
  }

  /** Start an execution and wait for it to end. */
  async run(input: unknown, executionName: string): Promise<ExecutionResult> {
    const executionArn = `arn:aws:states:${DRILL_REGION}:${DRILL_ACCOUNT}:execution:drill-StateMachine:${executionName}`;
    const tasks: ExecutionResult['tasks'] = [];
    const failedAttempts = new Map<string, number>();
    const faults = this.faults.map((f) => ({ ...f, left: f.times ?? 1 }));

    const handlers = Object.fromEntries(
      [...this.taskStates].map(([state, step]) => [
        state,
        async (event: unknown) => {
          // A retry pause: the retrier's interval with its backoff (no jitter: the worst case), capped.
          const attempts = failedAttempts.get(state) ?? 0;
          const retrier = this.retriers.get(state);
          if (attempts > 0 && retrier) {
            this.clock.advance(Math.min(retrier.interval * retrier.backoff ** (attempts - 1), retrier.maxDelay) * 1000);
          }
          const record: ExecutionResult['tasks'][number] = { state, step, at: this.clock.now() };
          tasks.push(record);
          try {
            this.injectFault(faults, state, 'before');
            const result = await runStep(step, event, this.deps);
            this.injectFault(faults, state, 'after');
            failedAttempts.delete(state);
            return result;
          } catch (err) {
            record.error = (err as Error).name;
            failedAttempts.set(state, attempts + 1);
            throw err;
          }
        },
      ]),
    );
    const waitTimeOverrides = new Proxy({} as Record<string, number>, {
      get: (_target, name) => {
        const seconds = this.waitSeconds.get(String(name));
        if (seconds !== undefined) this.clock.advance(seconds * 1000);
        return 0;
      },
    });
    const retryIntervalOverrides = Object.fromEntries([...this.retriers.keys()].map((state) => [state, 0]));

    // The state machine and asl validation both modify the definition they get: each run has its own copy.
    const machine = new StateMachine(structuredClone(this.synth.definition) as any, { validationOptions: { checkPaths: true, checkArn: false } });
    const started = performance.now();
    const execution = machine.run(input as any, {
      overrides: { taskResourceLocalHandlers: handlers as any, waitTimeOverrides, retryIntervalOverrides },
      context: { Execution: { Id: executionArn, Name: executionName } } as any,
    });
    const base = { executionArn, executionName, input, tasks };
    try {
      const output = await execution.result;
      return { ...base, status: 'SUCCEEDED', output, wallMs: elapsedMs(started) };
    } catch (err) {
      const failure = err instanceof ExecutionError ? (err.cause as Error) : (err as Error);
      return { ...base, status: 'FAILED', error: failure.name, cause: failure.message, wallMs: elapsedMs(started) };
    }
  }

  private injectFault(faults: Array<TaskFault & { left: number }>, state: string, when: 'before' | 'after'): void {
    const fault = faults.find((f) => f.state === state && f.when === when && f.left > 0);
    if (!fault) return;
    fault.left -= 1;
    const error = new Error(`the function of ${state} died ${when === 'after' ? 'after doing its work' : 'before starting'} (drill fault)`);
    error.name = fault.error ?? 'Lambda.Unknown';
    throw error;
  }
}

/**
 * The controller's own wall time: step code, state transitions, store calls. Wait states and retry
 * pauses take no wall time here, and the simulated AWS answers at once.
 */
function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
