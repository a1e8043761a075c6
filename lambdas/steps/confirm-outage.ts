/**
 * Step 2b: a second opinion. For probe and alarm triggers the workflow probes the primary once more,
 * from this separate invocation, before fencing anything. If the primary answers (the group's quorum
 * of probes passes), the execution ends ABORTED as a false alarm and nothing is changed.
 *
 * With vantages configured (`vantages[]`, lambdas/core/vantage.ts) the step also asks the confirm
 * function in each vantage's region, at the same time as it probes, and the quorum across the views
 * decides: when they disagree (one saw the primary down, another up) nothing is fenced, and the record
 * names every view. The vantage functions are invoked from here (Lambda's Invoke in their region),
 * not from a Task state of their own: Step Functions' Lambda integration does not invoke a function in
 * another region (aws-cdk-lib's CallAwsServiceCrossRegion exists because it cannot, and deploys a
 * Lambda function to make the call), and one step keeps the decision in one pure function.
 *
 * A group without probes has nothing to confirm against: it fails over only if its config says so
 * (`confirmation: "none"`, the documented opt-out for alarm-only groups); otherwise the trigger is not
 * confirmed and nothing is changed.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { checkAll, type ProbeResult } from '../probe/check-endpoint';
import { judgeRound } from '../probe/detect';
import { deployedGroup } from '../core/deployed-group';
import type { GroupConfig, ProbeConfig } from '../core/config';
import { decideAcrossVantages, probeRecords, VANTAGE_ANSWER_TIMEOUT_MS, vantagesFromEnv, type VantageTarget, type VantageView } from '../core/vantage';
import { bakedGroups } from '../runtime/baked-groups';
import { perRegion, type StepDeps } from '../runtime/deps';
import { CLIENT_CONFIG } from '../runtime/client-config';
import { requireEnv } from '../runtime/env';
import { stepHandler } from '../runtime/powertools';
import type { ConfirmResult, WorkflowState } from '../core/workflow-state';

/** Where the confirmation step runs, how it probes from there, and the vantage functions it asks. */
export interface ConfirmationDeps {
  /** The controller's region. */
  region: string;
  /** Probe from the controller: the network as the confirmation function sees it. */
  probe(probes: ProbeConfig[]): Promise<ProbeResult[]>;
  vantages(): VantageTarget[];
  /** A Lambda client in a vantage's region. */
  lambda(region: string): LambdaClient;
}

/**
 * `confirmation` is optional: without it (or with no vantages) the step confirms with its own probes
 * alone, as before vantages existed.
 */
export async function run(state: WorkflowState, deps: Pick<StepDeps, 'now' | 'groups'> & { confirmation?: ConfirmationDeps }): Promise<ConfirmResult> {
  // The deployed group's probes: an event cannot point them anywhere else.
  const group = deployedGroup(deps.groups(), state.plan);
  const startedAt = deps.now();
  if (group.probes.length === 0) {
    return group.confirmation === 'none'
      ? { startedAt, endedAt: deps.now(), confirmed: true, reason: `not confirmed by any probe: ${group.name} has no probes and its config says confirmation "none", so the trigger alone starts the failover` }
      : {
          startedAt,
          endedAt: deps.now(),
          confirmed: false,
          reason: `not failing over: ${group.name} has no probes to confirm the outage against, and its config does not opt out with confirmation "none"`,
        };
  }
  const confirmation = deps.confirmation;
  const targets = confirmation?.vantages() ?? [];
  // The vantages are asked while the controller probes: the slower of the two bounds the step.
  const [results, ...remote] = await Promise.all([
    (confirmation?.probe ?? checkAll)(group.probes),
    ...targets.map((t) => askVantage(t, group, confirmation!, deps.now)),
  ]);
  const verdict = judgeRound(results, group.detection.quorum);
  const records = probeRecords(results);
  if (targets.length === 0) {
    return {
      startedAt,
      endedAt: deps.now(),
      confirmed: verdict.failed,
      reason: verdict.failed
        ? `outage confirmed: ${verdict.reason}`
        : verdict.void
          ? `not confirmed: the confirmation probes could not run properly, so they saw nothing of the primary (${verdict.void})`
          : `false alarm: the primary answered the confirmation probes (${verdict.reason})`,
      results: records,
    };
  }
  const own: VantageView = verdict.void
    ? { region: confirmation!.region, source: 'controller', saw: 'unreachable', at: startedAt, reason: verdict.reason, void: verdict.void, results: records }
    : { region: confirmation!.region, source: 'controller', saw: verdict.failed ? 'down' : 'up', at: startedAt, reason: verdict.reason, results: records };
  const views = [own, ...remote];
  const decision = decideAcrossVantages(views);
  return { startedAt, endedAt: deps.now(), confirmed: decision.confirmed, reason: decision.reason, results: records, vantages: views, disagree: decision.disagree };
}

/**
 * One vantage's view. Whatever keeps it from answering (its region's Lambda API failing or not answering
 * in time, the function failing, an answer that is not about this group from that region) makes it
 * `unreachable`: a view that counts for neither side (see decideAcrossVantages).
 */
async function askVantage(target: VantageTarget, group: GroupConfig, deps: ConfirmationDeps, now: () => number): Promise<VantageView> {
  const unreachable = (reason: string): VantageView => ({ region: target.region, source: 'function', saw: 'unreachable', at: now(), reason });
  let out;
  try {
    out = await deps.lambda(target.region).send(
      new InvokeCommand({ FunctionName: target.functionName, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode(JSON.stringify({ group: group.name })) }),
    );
  } catch (err) {
    const e = err as Error;
    return unreachable(`the Lambda API of ${target.region} did not run ${target.functionName}: ${e.name}: ${e.message}`);
  }
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  let answer: Record<string, unknown> | undefined;
  try {
    answer = JSON.parse(text) as Record<string, unknown>;
  } catch {
    answer = undefined;
  }
  // Invoke answers 200 even when the function failed: FunctionError says so, the payload says why
  // (Lambda API reference, Invoke: "FunctionError ... Details about the error are included in the response payload").
  if (out.FunctionError) {
    return unreachable(`${target.functionName} in ${target.region} failed (${out.FunctionError}): ${String(answer?.errorType ?? '')}: ${String(answer?.errorMessage ?? text).slice(0, 300)}`);
  }
  if (!answer || answer.region !== target.region || answer.group !== group.name || typeof answer.down !== 'boolean' || typeof answer.at !== 'number') {
    return unreachable(`${target.functionName} in ${target.region} answered something that is not its view of ${group.name}: ${text.slice(0, 200)}`);
  }
  const results = Array.isArray(answer.results) ? (answer.results as VantageView['results']) : undefined;
  const reason = String(answer.reason ?? '');
  // A void round there (its own resolver or sockets failed) saw nothing of the primary: neither side.
  if (typeof answer.void === 'string') return { region: target.region, source: 'function', saw: 'unreachable', at: answer.at, reason, void: answer.void, ...(results ? { results } : {}) };
  return { region: target.region, source: 'function', saw: answer.down ? 'down' : 'up', at: answer.at, reason, ...(results ? { results } : {}) };
}

// CLIENT_CONFIG's connection timeout, but one attempt with a request timeout as long as the step can
// wait: the vantage probes before it answers, and one that does not answer in time is unreachable,
// never retried into the step's timeout.
const VANTAGE_CLIENT = { maxAttempts: 1, requestHandler: { ...CLIENT_CONFIG.requestHandler, requestTimeout: VANTAGE_ANSWER_TIMEOUT_MS } } as const;
const lambda = perRegion((region) => new LambdaClient({ ...CLIENT_CONFIG, ...VANTAGE_CLIENT, region }));

export const handler = stepHandler('confirm-outage', (state: WorkflowState) =>
  run(state, {
    now: Date.now,
    groups: bakedGroups,
    confirmation: { region: requireEnv('AWS_REGION'), probe: checkAll, vantages: vantagesFromEnv, lambda },
  }),
);
