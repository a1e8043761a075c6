import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { FailoverConfig } from '../../lambdas/core/config';
import { FailoverController } from './failover-controller';
import { IsolationStack, databasesByRegion, isolatedGroupsByRegion, isolationShards } from './isolation';
import { VantageStack } from './vantage';

export interface FailoverControllerStackProps extends StackProps {
  readonly config: FailoverConfig;
}

/** One deployment: the controller for every group in the config. */
export class FailoverControllerStack extends Stack {
  public readonly controller: FailoverController;
  /** The deny-all security groups' stacks, one per region of a source database or of a primary that fences by isolation. */
  public readonly isolationStacks: IsolationStack[] = [];
  /** One stack per configured vantage, in its region (vantage.ts). */
  public readonly vantageStacks: VantageStack[] = [];

  constructor(scope: Construct, id: string, props: FailoverControllerStackProps) {
    // No indentation in the templates: CloudFormation takes at most 1 MB of one ("Understand CloudFormation
    // quotas", template body size in an S3 object), and indentation is a third of a large one.
    super(scope, id, { description: 'failover-controller: fence, promote, flip DNS, record', suppressTemplateIndentation: true, ...props });
    // The same for the nested stacks of the alarm rules, which read it from the context.
    this.node.setContext('@aws-cdk/core:suppressTemplateIndentation', true);
    this.controller = new FailoverController(this, 'Controller', { config: props.config });
    const isolated = isolatedGroupsByRegion(props.config.groups);
    const databases = databasesByRegion(props.config.groups);
    for (const region of [...new Set([...isolated.keys(), ...databases.keys()])].sort()) {
      // Several stacks in a region of many groups (CloudFormation: 500 resources per stack); the first
      // keeps the name it always had. Groups fill them in config order, so groups added at the end of
      // the config leave the others' security groups where they are.
      const shards = isolationShards(databases.get(region) ?? [], isolated.get(region) ?? []);
      shards.forEach((shard, k) => {
        this.isolationStacks.push(
          new IsolationStack(scope, `${id}-isolation-${region}${k === 0 ? '' : `-${k + 1}`}`, {
            ...shard,
            env: { account: props.env?.account, region },
            suppressTemplateIndentation: true,
          }),
        );
      });
    }
    props.config.vantages.forEach((v, index) =>
      this.vantageStacks.push(new VantageStack(scope, `${id}-vantage-${v.region}`, { config: props.config, index, controllerRegion: this.region, env: { account: props.env?.account } })),
    );
  }
}
