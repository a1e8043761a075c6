/**
 * The account and region the drill simulates, and the placeholders a synthesized definition's ARNs are
 * resolved with (synth.ts). A module of its own so that the runner can name them without loading the CDK.
 */
export const DRILL_ACCOUNT = '123456789012';
export const DRILL_REGION = 'us-west-2';
