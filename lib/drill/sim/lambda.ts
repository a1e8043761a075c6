/**
 * Simulated Lambda: the functions deployed in each region, and Invoke (RequestResponse) of them.
 *
 * As Lambda answers Invoke (Lambda API reference, Invoke):
 * - a function is found by name (or its ARN) in the region the call is made to; another region's
 *   function is not found there: ResourceNotFoundException (HTTP 404), "Function not found: <arn>";
 * - a function that throws still gets StatusCode 200: `FunctionError` says it failed ("Unhandled" for
 *   an error the Node.js runtime caught) and the Payload carries `errorType` and `errorMessage`;
 * - otherwise StatusCode 200, the function's JSON result as Payload, and `ExecutedVersion`.
 * GetFunction (Lambda API reference, GetFunction) finds a function the same way, and answers its
 * Configuration (name, ARN, State "Active": a simulated function is ready once added).
 * A region whose Lambda API is down is the account's (setRegionReachable with 'lambda', or an injected
 * ServiceException / TooManyRequestsException).
 *
 * The handler runs for real (a vantage function probes real local servers); the simulated clock moves
 * by a cold start on a function's first invocation and a warm invoke's overhead after it.
 */
import type * as lambda from '@aws-sdk/client-lambda';
import type { Handler, SimCore, SimServiceModule } from './core';

export interface SimFunctionSeed {
  region: string;
  name: string;
  /** The function's code: the event in, its result out (a throw is a function error). */
  handler: (event: unknown) => Promise<unknown>;
}

/**
 * A cold start of a 1-2 MB bundled Node.js function on arm64: the bench measures 259-391 ms to load
 * this project's bundles (README, "Measured"); a vantage is invoked once per failover, so always cold.
 * A cross-region round trip adds tens of milliseconds (the call's own apiCallMs covers it).
 */
export const COLD_START_MS = 400;
const WARM_INVOKE_MS = 20;

export class SimLambda implements SimServiceModule {
  readonly handlers: Record<string, Handler> = {
    Invoke: (i, r) => this.invoke(i, r),
    GetFunction: async (i, r) => this.getFunction(i, r),
  };
  // Invoke runs code; what that code changes is its own calls'. The vantage function changes nothing.
  readonly mutating: ReadonlySet<string> = new Set();
  /** Every invocation: which function, in which region, when, and whether it failed. */
  readonly invocations: Array<{ at: number; region: string; name: string; functionError?: string }> = [];

  private readonly functions = new Map<string, SimFunctionSeed>();
  private readonly warm = new Set<string>();

  constructor(private readonly core: SimCore) {}

  addFunction(f: SimFunctionSeed): void {
    this.functions.set(`${f.region}:${f.name}`, f);
  }

  /** The function is gone from its region (its stack deleted, or never deployed there). */
  removeFunction(region: string, name: string): void {
    this.functions.delete(`${region}:${name}`);
    this.warm.delete(`${region}:${name}`);
  }

  /** The function a FunctionName (a name or an ARN) names in `region`, or ResourceNotFoundException. */
  private find(ref: string, region: string): { fn: SimFunctionSeed; name: string; arn: string } {
    // arn:aws:lambda:<region>:<account>:function:<name>
    const arn = /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):\d{12}:function:([A-Za-z0-9_-]+)$/.exec(ref);
    const name = arn ? arn[2] : ref;
    const fn = !arn || arn[1] === region ? this.functions.get(`${region}:${name}`) : undefined;
    const full = arn ? ref : `arn:aws:lambda:${region}:${this.core.accountId}:function:${name}`;
    if (!fn) throw this.core.awsError('lambda', 'ResourceNotFoundException', `Function not found: ${full}`);
    return { fn, name, arn: full };
  }

  private getFunction(input: lambda.GetFunctionCommandInput, region: string): lambda.GetFunctionCommandOutput {
    const { name, arn } = this.find(input.FunctionName ?? '', region);
    return { Configuration: { FunctionName: name, FunctionArn: arn, State: 'Active' }, $metadata: {} };
  }

  private async invoke(input: lambda.InvokeCommandInput, region: string): Promise<lambda.InvokeCommandOutput> {
    const { fn, name } = this.find(input.FunctionName ?? '', region);
    if (input.InvocationType && input.InvocationType !== 'RequestResponse') {
      throw new Error(`SimulatedAccount: Invoke with InvocationType ${input.InvocationType} is not simulated`);
    }
    const key = `${region}:${name}`;
    this.core.clock.advance(this.warm.has(key) ? WARM_INVOKE_MS : COLD_START_MS);
    this.warm.add(key);
    const event = input.Payload ? JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array)) : {};
    const record = { at: this.core.clock.now(), region, name };
    this.invocations.push(record);
    const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)) as lambda.InvokeCommandOutput['Payload'];
    try {
      const result = await fn.handler(event);
      return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: encode(result ?? null), $metadata: {} };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      Object.assign(record, { functionError: 'Unhandled' });
      return { StatusCode: 200, FunctionError: 'Unhandled', ExecutedVersion: '$LATEST', Payload: encode({ errorType: e.name, errorMessage: e.message, trace: [] }), $metadata: {} };
    }
  }
}
