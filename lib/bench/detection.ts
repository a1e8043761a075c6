/**
 * Detection time: from the moment the primary's endpoints stop answering to the probe function's
 * StartExecution, measured in the drill (the real probe handler against local servers, on the simulated
 * clock, invoked as deployed: the schedule each minute, then one invocation per queued round) over many outages that start at random offsets.
 */
import type { FailoverConfig, GroupConfig } from '../../lambdas/core/config';
import { Drill } from '../drill/drill';
import { max, median, min, round } from './stats';

export interface DetectionSetting {
  name: string;
  intervalSeconds: number;
  failureThreshold: number;
  /** The median must be at most this. */
  targetMedianSeconds: number;
}

/** The settings the benchmark compares: the defaults, and the fastest the config allows with a threshold of 2. */
export const DETECTION_SETTINGS: readonly DetectionSetting[] = [
  { name: 'default', intervalSeconds: 10, failureThreshold: 3, targetMedianSeconds: 35 },
  { name: 'fast', intervalSeconds: 5, failureThreshold: 2, targetMedianSeconds: 15 },
];

export interface DetectionResult extends DetectionSetting {
  outages: number;
  /** Outage start offsets (ms after the drill's start), in the order they ran. */
  offsetsMs: number[];
  /** Detection per outage, seconds; null where no execution started within the watch. */
  samplesSeconds: Array<number | null>;
  minSeconds: number | null;
  medianSeconds: number | null;
  worstSeconds: number | null;
  /** What the round arithmetic predicts: above (threshold - 1) x interval, at most threshold x interval, plus the StartExecution call. */
  expectedRangeSeconds: [number, number];
  pass: boolean;
}

/** Each outage starts between 1 s and 61 s into its drill: after one healthy round, at any phase of the rounds and of the minute. */
export const OFFSET_RANGE_MS: readonly [number, number] = [1_000, 61_000];

/**
 * Run `outages` simulated outages for each setting; `random` places them. Each outage gets a fresh
 * drill (its own store, endpoints and clock), so no counter carries over from one outage to the next.
 */
export async function measureDetection(config: FailoverConfig, outages: number, random: () => number): Promise<DetectionResult[]> {
  const results: DetectionResult[] = [];
  for (const setting of DETECTION_SETTINGS) {
    const configured = withDetection(config, setting);
    const offsetsMs: number[] = [];
    const samples: Array<number | null> = [];
    for (let i = 0; i < outages; i++) {
      const offset = OFFSET_RANGE_MS[0] + Math.floor(random() * (OFFSET_RANGE_MS[1] - OFFSET_RANGE_MS[0]));
      offsetsMs.push(offset);
      samples.push(await detectOnce(configured, offset));
    }
    const detected = samples.filter((s): s is number => s !== null);
    const medianSeconds = detected.length > 0 ? round(median(detected), 2) : null;
    results.push({
      ...setting,
      outages,
      offsetsMs,
      samplesSeconds: samples,
      minSeconds: detected.length > 0 ? min(detected) : null,
      medianSeconds,
      worstSeconds: detected.length > 0 ? max(detected) : null,
      expectedRangeSeconds: [
        (setting.failureThreshold - 1) * setting.intervalSeconds,
        setting.failureThreshold * setting.intervalSeconds + 0.1,
      ],
      // Every outage must be detected, and the median within the target.
      pass: detected.length === outages && medianSeconds !== null && medianSeconds <= setting.targetMedianSeconds,
    });
  }
  return results;
}

/** `config` with its first group only, detecting at `setting`. */
export function withDetection(config: FailoverConfig, setting: DetectionSetting): FailoverConfig {
  const group: GroupConfig = {
    ...config.groups[0],
    detection: { ...config.groups[0].detection, intervalSeconds: setting.intervalSeconds, failureThreshold: setting.failureThreshold },
  };
  return { ...config, groups: [group] };
}

/** One outage: the endpoints go down `offsetMs` in; the probe function watches until it starts an execution. */
async function detectOnce(config: FailoverConfig, offsetMs: number): Promise<number | null> {
  const drill = await Drill.create(config);
  try {
    drill.scheduleEndpoints({ at: drill.account.clock.now() + offsetMs, mode: 'down' });
    // Outage within the first 61 s, detection within threshold x interval (at most 60 s here): 3 minutes suffice.
    const started = await drill.watch(3);
    if (started.length === 0 || drill.outageStartedAt === undefined) return null;
    return round((started[0].at - drill.outageStartedAt) / 1000, 3);
  } finally {
    await drill.close();
  }
}
