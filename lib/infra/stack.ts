import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { FailoverConfig } from '../../lambdas/core/config';
import { FailoverController } from './failover-controller';
import { IsolationStack, isolatedGroupsByRegion } from './isolation';

export interface FailoverControllerStackProps extends StackProps {
  readonly config: FailoverConfig;
}

/** One deployment: the controller for every group in the config. */
export class FailoverControllerStack extends Stack {
  public readonly controller: FailoverController;
  /** The isolation security groups' stacks, one per primary region (only for groups that fence by isolation). */
  public readonly isolationStacks: IsolationStack[] = [];

  constructor(scope: Construct, id: string, props: FailoverControllerStackProps) {
    super(scope, id, { description: 'failover-controller: fence, promote, flip DNS, record', ...props });
    this.controller = new FailoverController(this, 'Controller', { config: props.config });
    for (const [region, groups] of isolatedGroupsByRegion(props.config.groups)) {
      this.isolationStacks.push(
        new IsolationStack(scope, `${id}-isolation-${region}`, { groups, env: { account: props.env?.account, region } }),
      );
    }
  }
}
