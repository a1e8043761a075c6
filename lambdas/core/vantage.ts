/**
 * Vantage points for the confirmation that precedes fencing, and the quorum across them.
 *
 * The controller's own confirmation probes run in its region and VPC, like the detection probes: a cut
 * between that network and the primary looks exactly like a dead primary. A vantage is a confirm
 * function deployed in another region (`vantages[]` in the config, lib/infra/vantage.ts) that probes
 * the same endpoints with the same quorum, so that its view does not share the probes' fate.
 *
 * The quorum (decideAcrossVantages): fence only when
 *   - no vantage that answered saw the primary up, and
 *   - a strict majority of all vantages (the controller's own view included) saw it down.
 * A vantage that could not be asked counts for neither side: it can never help confirm, and it can
 * never outvote a vantage that saw the primary up. With one vantage configured both views must say
 * down; with two, one of them may be unreachable.
 */
import { STEP_TIMEOUT_SECONDS } from './budgets';
import type { FailoverConfig } from './config';

/** What one vantage saw of the primary. */
export type VantageSight = 'down' | 'up' | 'unreachable';

/** One vantage's view, as the history item records it. */
export interface VantageView {
  /** The region it probed from. */
  region: string;
  /** `controller`: the confirmation step's own probes; `function`: a vantage function in its region. */
  source: 'controller' | 'function';
  saw: VantageSight;
  /** Epoch ms: when it probed (its own clock), or, when it could not be asked, when the controller gave up. */
  at: number;
  /** One sentence: the round's verdict, or why the vantage could not be asked. */
  reason: string;
  /**
   * Set (with `saw: unreachable`) when it was asked but its round was void: its own sockets or
   * resolver failed, so it saw nothing of the primary either way.
   */
  void?: string;
  results?: Array<{ probe: string; ok: boolean; error?: string }>;
}

/** What a vantage function answers. */
export interface VantageAnswer {
  region: string;
  group: string;
  /** Epoch ms when its round of probes began. */
  at: number;
  /** The group's quorum of probes failed from there. */
  down: boolean;
  /** Set when the vantage's round was void (its own network or resolver failed): it saw nothing. */
  void?: string;
  reason: string;
  results: Array<{ probe: string; ok: boolean; error?: string }>;
}

/** Where the controller finds a vantage function: its region and name (both known at synth). */
export interface VantageTarget {
  region: string;
  functionName: string;
}

export interface VantageDecision {
  confirmed: boolean;
  /** At least one vantage saw the primary down and another saw it up. */
  disagree: boolean;
  reason: string;
}

/**
 * The vantage function's name in its region: fixed, so the controller's stack can name it (a
 * CloudFormation stack cannot read another region's outputs). Lambda function names: at most 64
 * characters of letters, digits, hyphens and underscores (Lambda API reference, CreateFunction).
 */
export function vantageFunctionName(stackName: string): string {
  const suffix = '-confirm-vantage';
  return `${stackName.slice(0, 64 - suffix.length)}${suffix}`;
}

/** VANTAGES: the vantage functions the stack deployed, as JSON (lib/infra/vantage.ts, vantageEnvironment). */
export function vantagesFromEnv(): VantageTarget[] {
  const raw = process.env.VANTAGES;
  return raw ? (JSON.parse(raw) as VantageTarget[]) : [];
}

/** Where the confirmation step (and the readiness check) find each vantage function of a config. */
export function vantageTargets(config: Pick<FailoverConfig, 'stackName' | 'vantages'>): VantageTarget[] {
  return config.vantages.map((v) => ({ region: v.region, functionName: vantageFunctionName(config.stackName) }));
}

/** The round's results as the record keeps them. */
export function probeRecords(results: Array<{ probe: string; ok: boolean; error?: string }>): Array<{ probe: string; ok: boolean; error?: string }> {
  return results.map(({ probe, ok, error }) => ({ probe, ok, ...(error ? { error } : {}) }));
}

/** `us-east-2 (vantage) saw the primary down at 00:01:02Z: round failed: ...` */
function describeView(v: VantageView): string {
  const where = `${v.region} (${v.source === 'controller' ? 'controller' : 'vantage'})`;
  const when = new Date(v.at).toISOString().slice(11, 19) + 'Z';
  if (v.void) return `${where} saw nothing of the primary at ${when}: ${v.void}`;
  if (v.saw === 'unreachable') return `${where} could not be asked at ${when}: ${v.reason}`;
  return `${where} saw the primary ${v.saw} at ${when}: ${v.reason}`;
}

/** The quorum across vantages (see the module comment). The reason names every vantage's view. */
export function decideAcrossVantages(views: VantageView[]): VantageDecision {
  const down = views.filter((v) => v.saw === 'down').length;
  const up = views.filter((v) => v.saw === 'up').length;
  const total = views.length;
  const each = views.map(describeView).join('; ');
  if (up > 0 && down > 0) {
    return {
      confirmed: false,
      disagree: true,
      reason: `not fencing: the vantages disagree (${down} of ${total} saw the primary down, ${up} saw it up): a partition, not an outage, until they agree: ${each}`,
    };
  }
  if (up > 0) {
    return { confirmed: false, disagree: false, reason: `false alarm: the primary answered the confirmation probes from every vantage that could be asked: ${each}` };
  }
  if (down * 2 > total) {
    return { confirmed: true, disagree: false, reason: `outage confirmed by ${down} of ${total} vantages: ${each}` };
  }
  return {
    confirmed: false,
    disagree: false,
    reason: `not fencing: only ${down} of ${total} vantages saw the primary down and the others could not be asked or saw nothing; an automatic failover needs a majority (fail over by hand if the primary is down): ${each}`,
  };
}

/**
 * How long the confirmation step waits for a vantage's answer: the step's Lambda timeout less 3 s for
 * its own work. The vantage runs the same probes (each at most CONFIRM_PROBE_TIMEOUT_MAX_MS, 25 s), so
 * a cold start and a cross-region round trip must fit in what is left.
 */
export const VANTAGE_ANSWER_TIMEOUT_MS = (STEP_TIMEOUT_SECONDS - 3) * 1000;
