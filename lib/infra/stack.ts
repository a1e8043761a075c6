import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { FailoverConfig } from '../../lambdas/core/config';
import { FailoverController } from './failover-controller';
import { IsolationStack, databasesByRegion, isolatedGroupsByRegion } from './isolation';
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
    super(scope, id, { description: 'failover-controller: fence, promote, flip DNS, record', ...props });
    this.controller = new FailoverController(this, 'Controller', { config: props.config });
    const isolated = isolatedGroupsByRegion(props.config.groups);
    const databases = databasesByRegion(props.config.groups);
    for (const region of [...new Set([...isolated.keys(), ...databases.keys()])].sort()) {
      this.isolationStacks.push(
        new IsolationStack(scope, `${id}-isolation-${region}`, {
          groups: isolated.get(region) ?? [],
          databases: databases.get(region) ?? [],
          env: { account: props.env?.account, region },
        }),
      );
    }
    props.config.vantages.forEach((v, index) =>
      this.vantageStacks.push(new VantageStack(scope, `${id}-vantage-${v.region}`, { config: props.config, index, controllerRegion: this.region, env: { account: props.env?.account } })),
    );
  }
}
