/**
 * Listen to aws-local-stepfunctions' own event log for every execution started while `fn` runs.
 *
 * LocalWorkflow (lib/runner/local-workflow.ts) runs each execution with `StateMachine.run` and does not
 * hand out the execution's `eventLogs`; wrapping `run` for the duration of `fn` reads them without
 * changing the runner. The wrapper only consumes the event queue the library fills anyway.
 */
import type * as LocalSfn from 'aws-local-stepfunctions' with { 'resolution-mode': 'import' };

// The same CommonJS module instance that LocalWorkflow requires (an `import` could load the ESM build).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions') as typeof LocalSfn;

type Execution = ReturnType<LocalSfn.StateMachine['run']>;
export type StateEvent = Execution['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** Run `fn`; return its result and, per execution started meanwhile, the events it logged, in order. */
export async function withStateEvents<T>(fn: () => Promise<T>): Promise<{ result: T; executions: StateEvent[][] }> {
  const proto = StateMachine.prototype as { run: LocalSfn.StateMachine['run'] };
  const original = proto.run;
  const executions: StateEvent[][] = [];
  const readers: Array<Promise<void>> = [];
  proto.run = function run(this: LocalSfn.StateMachine, ...args: Parameters<LocalSfn.StateMachine['run']>) {
    const execution = original.apply(this, args);
    const events: StateEvent[] = [];
    executions.push(events);
    // The generator ends when the execution succeeds, fails or aborts.
    readers.push((async () => {
      for await (const event of execution.eventLogs) events.push(event);
    })());
    return execution;
  };
  try {
    const result = await fn();
    await Promise.all(readers);
    return { result, executions };
  } finally {
    proto.run = original;
  }
}

/**
 * Step Functions Standard bills a state transition each time a state is entered, retries included
 * (each retry is charged as another transition): StateEntered + StateRetried events.
 */
export function countTransitions(events: StateEvent[]): { transitions: number; entered: number; retried: number; states: string[] } {
  const entered = events.filter((e) => e.type === 'StateEntered');
  const retried = events.filter((e) => e.type === 'StateRetried').length;
  return {
    transitions: entered.length + retried,
    entered: entered.length,
    retried,
    states: entered.map((e) => (e as { state: { name: string } }).state.name),
  };
}
