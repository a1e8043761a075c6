/**
 * Step Functions executions recorded from a real run instead of written by hand: the drill runs the
 * synthesized definition with the real step code (lib/drill), aws-local-stepfunctions logs every state
 * it enters and leaves, and `toHistoryEvents` turns that log into the events GetExecutionHistory returns
 * for the deployed state machine (whose Task states invoke Lambda functions by ARN). The store holds the
 * history item the run wrote. `RecordedStepFunctions` answers the CLI's Step Functions calls from such
 * runs, so `failoverctl failover` follows an execution exactly as it would follow a real one.
 */
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  type DescribeExecutionOutput,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type * as LocalSfn from 'aws-local-stepfunctions' with { 'resolution-mode': 'import' };
import type { Drill } from '../../lib/drill/drill';
import type { ExecutionResult } from '../../lib/runner/local-workflow';
import { TASK_STATES, type TaskStateName } from '../../lib/infra/workflow-states';

// The same CommonJS module instance that LocalWorkflow requires (an `import` could load the ESM build).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions') as typeof LocalSfn;

type LocalExecution = ReturnType<LocalSfn.StateMachine['run']>;
type LocalEvent = LocalExecution['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** One execution as Step Functions would report it afterwards. */
export interface RecordedExecution {
  executionArn: string;
  name: string;
  input: unknown;
  startedAt: number;
  stoppedAt: number;
  status: 'SUCCEEDED' | 'FAILED';
  /** The execution's output (JSON text) when it succeeded. */
  output?: string;
  error?: string;
  cause?: string;
  /** GetExecutionHistory's events, oldest first, ids from 1. */
  events: HistoryEvent[];
}

/**
 * Run one execution of the drill's workflow with `input` under `name` and record it.
 *
 * aws-local-stepfunctions stamps its events with `Date.now()` as it dispatches them (synchronously, as
 * each state is entered and left); while the run lasts, `Date.now` reads the drill's simulated clock, so
 * the stamps are the times the states would have had in AWS, Wait states and retry pauses included.
 */
export async function recordExecution(drill: Drill, input: unknown, name: string): Promise<RecordedExecution> {
  const clock = drill.account.clock;
  const logged: LocalEvent[] = [];
  const proto = StateMachine.prototype as { run: LocalSfn.StateMachine['run'] };
  const originalRun = proto.run;
  const originalNow = Date.now;
  let reader: Promise<void> | undefined;
  proto.run = function run(this: LocalSfn.StateMachine, ...args: Parameters<LocalSfn.StateMachine['run']>) {
    const execution = originalRun.apply(this, args);
    reader = (async () => {
      for await (const event of execution.eventLogs) logged.push(event);
    })();
    return execution;
  };
  const startedAt = clock.now();
  let result: ExecutionResult;
  try {
    Date.now = () => clock.now();
    [result] = await drill.run({ input, name });
    await reader;
  } finally {
    Date.now = originalNow;
    proto.run = originalRun;
  }
  const stoppedAt = logged.at(-1)?.timestamp ?? clock.now();
  const events = toHistoryEvents(logged, result, drill.synth.definition);
  const failed = events.at(-1)?.executionFailedEventDetails;
  return {
    executionArn: result.executionArn,
    name,
    input,
    startedAt,
    stoppedAt,
    status: result.status,
    // DescribeExecution says what the last event says.
    ...(result.status === 'SUCCEEDED' ? { output: JSON.stringify(result.output) } : { error: failed?.error ?? result.error, cause: failed?.cause ?? result.cause }),
    events,
  };
}

/**
 * The events Step Functions records for the same run. A Task state whose Resource is a function ARN
 * logs TaskStateEntered, then per attempt LambdaFunctionScheduled, LambdaFunctionStarted and
 * LambdaFunctionSucceeded or LambdaFunctionFailed, then TaskStateExited (also when a Catch took the
 * error). Other states log <Type>StateEntered and <Type>StateExited; a Fail state only its entry, then
 * ExecutionFailed. Each attempt starts when LocalWorkflow invoked the step (`result.tasks`, after the
 * retry pause).
 */
export function toHistoryEvents(logged: LocalEvent[], result: ExecutionResult, definition: Record<string, any>): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  const push = (at: number, event: Omit<HistoryEvent, 'id' | 'timestamp' | 'previousEventId'>) => {
    events.push({ id: events.length + 1, previousEventId: events.length, timestamp: new Date(at), ...event } as HistoryEvent);
  };
  const states = definition.States as Record<string, { Type: string; Resource?: string }>;
  let attempt = 0;
  const schedule = (state: string, input: unknown) => {
    const at = result.tasks[attempt]?.at;
    if (result.tasks[attempt]?.state !== state) throw new Error(`attempt ${attempt} of the log is ${state}, but LocalWorkflow invoked ${result.tasks[attempt]?.state}`);
    attempt += 1;
    // The function's input as the state got it (the local log does not keep the resolved Parameters).
    push(at, { type: 'LambdaFunctionScheduled', lambdaFunctionScheduledEventDetails: { resource: states[state].Resource!, input: JSON.stringify(input) } });
    push(at, { type: 'LambdaFunctionStarted' });
  };
  let caught = false;
  // A Task's error that no Catch took fails the execution with the Lambda's error and cause.
  let uncaught: { error?: string; cause: string } | undefined;
  for (const e of logged) {
    const event = e as LocalEvent & { state?: { name: string; type: string; input?: unknown; output?: unknown }; Error?: string; Cause?: string; output?: unknown; input?: unknown };
    const state = event.state;
    switch (event.type) {
      case 'ExecutionStarted':
        push(event.timestamp, { type: 'ExecutionStarted', executionStartedEventDetails: { input: JSON.stringify(event.input), roleArn: 'arn:aws:iam::123456789012:role/drill-StateMachineRole' } });
        break;
      case 'StateEntered':
        uncaught = undefined;
        push(event.timestamp, { type: `${state!.type}StateEntered` as HistoryEvent['type'], stateEnteredEventDetails: { name: state!.name, input: JSON.stringify(state!.input) } });
        if (state!.type === 'Task') {
          caught = false;
          schedule(state!.name, state!.input);
        }
        break;
      case 'StateFailed':
        // A Fail state "fails" in the library's log; Step Functions goes straight to ExecutionFailed.
        if (state!.type === 'Task') {
          // As the Lambda Node.js runtime reports an error the handler threw.
          uncaught = { error: event.Error, cause: JSON.stringify({ errorType: event.Error, errorMessage: event.Cause }) };
          push(event.timestamp, { type: 'LambdaFunctionFailed', lambdaFunctionFailedEventDetails: uncaught });
        }
        break;
      case 'StateRetried':
        uncaught = undefined;
        schedule(state!.name, state!.input);
        break;
      case 'StateCaught':
        caught = true;
        uncaught = undefined;
        break;
      case 'StateExited': {
        if (state!.type === 'Task') {
          const field = TASK_STATES[state!.name as TaskStateName]?.field;
          const output = state!.output as Record<string, unknown>;
          if (!caught) push(event.timestamp, { type: 'LambdaFunctionSucceeded', lambdaFunctionSucceededEventDetails: { output: JSON.stringify(field ? output?.[field] : output) } });
        }
        push(event.timestamp, { type: `${state!.type}StateExited` as HistoryEvent['type'], stateExitedEventDetails: { name: state!.name, output: JSON.stringify(state!.output) } });
        break;
      }
      case 'ExecutionSucceeded':
        push(event.timestamp, { type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: JSON.stringify(event.output) } });
        break;
      case 'ExecutionFailed':
        push(event.timestamp, { type: 'ExecutionFailed', executionFailedEventDetails: uncaught ?? { error: event.Error, cause: event.Cause } });
        break;
      default:
        throw new Error(`no Step Functions history event for the local event ${event.type}`);
    }
  }
  if (attempt !== result.tasks.length) throw new Error(`the log has ${attempt} task attempts, LocalWorkflow made ${result.tasks.length}`);
  return events;
}

/** DescribeExecution's answer for a recorded execution, seen at `at`. */
export function describeAt(r: RecordedExecution, at: number): DescribeExecutionOutput {
  const base = { executionArn: r.executionArn, name: r.name, input: JSON.stringify(r.input), startDate: new Date(r.startedAt) };
  if (at < r.stoppedAt) return { ...base, status: 'RUNNING' } as DescribeExecutionOutput;
  return (r.status === 'SUCCEEDED'
    ? { ...base, status: 'SUCCEEDED', stopDate: new Date(r.stoppedAt), output: r.output }
    : { ...base, status: 'FAILED', stopDate: new Date(r.stoppedAt), error: r.error, cause: r.cause }) as DescribeExecutionOutput;
}

/** GetExecutionHistory's pages for a recorded execution, seen at `at`: events up to then. */
export function historyPage(r: RecordedExecution, at: number, input: { reverseOrder?: boolean; maxResults?: number; nextToken?: string }): { events: HistoryEvent[]; nextToken?: string } {
  const visible = r.events.filter((e) => e.timestamp!.getTime() <= at);
  const ordered = input.reverseOrder ? [...visible].reverse() : visible;
  const from = input.nextToken ? Number(input.nextToken) : 0;
  const size = input.maxResults || 1000;
  const events = ordered.slice(from, from + size);
  return { events, ...(from + size < ordered.length ? { nextToken: String(from + size) } : {}) };
}

/**
 * Step Functions for the CLI, backed by the drill: StartExecution runs the execution on the drill's
 * workflow (the real definition and steps, against the simulated account and the store) and records
 * it; DescribeExecution and GetExecutionHistory answer as AWS would while the CLI follows it, on a
 * viewer's clock that the CLI's own sleeps move on (`sleep`), so polls see the execution progress.
 * DescribeStateMachine gives the deployed definition.
 */
export class RecordedStepFunctions {
  /** The client to hand the CLI (`deps.clients.sfn`); only this instance is mocked. */
  readonly client = new SFNClient({ region: 'us-west-2', credentials: { accessKeyId: 'AKIDREADME', secretAccessKey: 'readme' } });
  readonly executions: RecordedExecution[] = [];
  /** The definition DescribeStateMachine returns: what is deployed. */
  deployedDefinition: Record<string, any>;
  private viewerAt = 0;

  constructor(drill: Drill) {
    this.deployedDefinition = drill.synth.definition;
    const mock = mockClient(this.client);
    mock.on(StartExecutionCommand).callsFake(async (input: { stateMachineArn?: string; name?: string; input?: string }) => {
      if (input.stateMachineArn !== drill.stateMachineArn) {
        throw new SFNServiceException({ name: 'StateMachineDoesNotExist', message: `State Machine Does Not Exist: '${input.stateMachineArn}'`, $fault: 'client', $metadata: { httpStatusCode: 400 } });
      }
      if (this.executions.some((e) => e.name === input.name)) {
        throw new SFNServiceException({ name: 'ExecutionAlreadyExists', message: `Execution Already Exists: '${input.name}'`, $fault: 'client', $metadata: { httpStatusCode: 400 } });
      }
      const recorded = await recordExecution(drill, JSON.parse(input.input ?? '{}'), input.name!);
      this.executions.push(recorded);
      this.viewerAt = recorded.startedAt;
      return { executionArn: recorded.executionArn, startDate: new Date(recorded.startedAt) };
    });
    mock.on(DescribeExecutionCommand).callsFake((input: { executionArn?: string }) => describeAt(this.find(input.executionArn), this.viewerAt));
    mock.on(GetExecutionHistoryCommand).callsFake((input: { executionArn?: string; reverseOrder?: boolean; maxResults?: number; nextToken?: string }) =>
      historyPage(this.find(input.executionArn), this.viewerAt, input),
    );
    mock.on(DescribeStateMachineCommand).callsFake(() => ({
      stateMachineArn: drill.stateMachineArn,
      name: 'drill-StateMachine',
      definition: JSON.stringify(this.deployedDefinition),
      roleArn: 'arn:aws:iam::123456789012:role/drill-StateMachineRole',
      type: 'STANDARD',
      creationDate: new Date(0),
    }));
  }

  /** The CLI's `deps.sleep` while it follows: the viewer's clock moves on. */
  readonly sleep = async (ms: number): Promise<void> => {
    this.viewerAt += ms;
  };

  /**
   * The time for the one following the last execution, while it has not ended for them (the drill ran
   * it to its end already); undefined otherwise.
   */
  viewerNow(): number | undefined {
    const last = this.executions.at(-1);
    return last && this.viewerAt < last.stoppedAt ? this.viewerAt : undefined;
  }

  private find(arn: string | undefined): RecordedExecution {
    const found = this.executions.find((e) => e.executionArn === arn);
    if (!found) throw new SFNServiceException({ name: 'ExecutionDoesNotExist', message: `Execution Does Not Exist: '${arn}'`, $fault: 'client', $metadata: { httpStatusCode: 400 } });
    return found;
  }
}
