/**
 * The deployed controller, played by a drill: failoverctl runs in-process against the drill's simulated
 * AWS account (EC2, Auto Scaling, RDS, Route 53, CloudWatch, SNS behind the real SDK clients), the
 * drill's table on dynalite, CloudFormation answering DescribeStacks with the stack's outputs, and Step
 * Functions answered from real runs of the drill's workflow (`RecordedStepFunctions`). The CLI's clock
 * is the account's. The operator works in a directory of their own with a copy of the config.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, CloudFormationServiceException, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfigFile, type FailoverConfig } from '../../lambdas/core/config';
import { groupDigests } from '../../lambdas/core/deployed-group';
import type { CliDeps } from '../../lib/cli/deployment';
import { Drill } from '../../lib/drill/drill';
import { accountDeps } from '../support/drill';
import { RecordedStepFunctions } from './recorded-execution';
import { CONFIG, STACK, USER, runCli, type CliRun, type RunOptions } from './support';

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' };

export class DrillDeployment {
  /** The operator's directory: failover.config.json is there. */
  readonly cwd = mkdtempSync(join(tmpdir(), 'failoverctl-operator-'));
  readonly sfn: RecordedStepFunctions;
  /** The CLI's CloudFormation client (us-west-2, the controller's region); only this instance is mocked. */
  readonly cloudFormation = new CloudFormationClient({ region: 'us-west-2', credentials: CREDENTIALS });
  /** Its mock, for assertions (`expect(d.cfn).not.toHaveReceivedAnyCommand()`). */
  readonly cfn = mockClient(this.cloudFormation);

  private constructor(readonly drill: Drill, config: string, deployed: FailoverConfig) {
    this.sfn = new RecordedStepFunctions(drill);
    // What `cdk deploy` of the config put in the definition: its groups' digests, not those of the drill's
    // copy (whose probes point at local servers on ports that change every run).
    this.sfn.deployedDefinition = structuredClone(drill.synth.definition);
    this.sfn.deployedDefinition.States.Plan.Parameters.groupDigests = groupDigests(deployed.groups);
    this.writeConfig(config);
    this.cfn.on(DescribeStacksCommand).callsFake((input: { StackName?: string }) => {
      if (input.StackName !== STACK) {
        throw new CloudFormationServiceException({ name: 'ValidationError', message: `Stack with id ${input.StackName} does not exist`, $fault: 'client', $metadata: { httpStatusCode: 400 } });
      }
      return {
        Stacks: [
          {
            StackName: STACK,
            StackStatus: 'UPDATE_COMPLETE',
            CreationTime: new Date(drill.account.clock.now() - 86_400_000),
            Outputs: [
              { OutputKey: 'StateMachineArn', OutputValue: drill.stateMachineArn },
              { OutputKey: 'TableName', OutputValue: drill.tableName },
              { OutputKey: 'TopicArn', OutputValue: drill.topicArn },
            ],
          },
        ],
      };
    });
  }

  /**
   * A drill of `config` (default: the example), deployed; `configText` is the operator's
   * failover.config.json (default: the example's file).
   */
  static async create(options: { config?: FailoverConfig; configText?: string } = {}): Promise<DrillDeployment> {
    const config = options.config ?? loadConfigFile(CONFIG);
    const drill = await Drill.create(config);
    return new DrillDeployment(drill, options.configText ?? readFileSync(CONFIG, 'utf8'), config);
  }

  /** The operator edits failover.config.json. */
  writeConfig(text: string): void {
    writeFileSync(join(this.cwd, 'failover.config.json'), text);
  }

  deps(): Partial<CliDeps> {
    const { account } = this.drill;
    const base = accountDeps(this.drill);
    return {
      ...base,
      clients: { ...base.clients!, cloudFormation: () => this.cloudFormation, sfn: () => this.sfn.client } as CliDeps['clients'],
      // Following an execution: each poll interval passes for the one watching it.
      now: () => this.sfn.viewerNow() ?? account.clock.now(),
      sleep: this.sfn.sleep,
      user: () => USER,
      followIntervalMs: 2000,
    };
  }

  /** failoverctl `argv`, in the operator's directory, now. */
  run(argv: string[], options: Omit<RunOptions, 'cwd'> = {}): Promise<CliRun> {
    const deps = this.deps();
    return runCli(argv, { ...options, deps: { ...deps, ...options.deps, clients: { ...deps.clients!, ...options.deps?.clients } }, cwd: this.cwd });
  }

  /** Time passes (the operator reads, types). */
  advance(seconds: number): Promise<void> {
    return this.drill.advanceTo(this.drill.account.clock.now() + seconds * 1000);
  }

  async close(): Promise<void> {
    await this.drill.close();
    rmSync(this.cwd, { recursive: true, force: true });
  }
}
