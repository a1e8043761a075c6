/**
 * cdk-nag's AwsSolutions pack runs on every synth of the app (bin/app.ts and the construct tests).
 * Findings fail the synth; the few that are acknowledged carry their reason where the resource is made.
 */
import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

export function checkWithCdkNag(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}
