import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { FailoverConfig } from './config';
import { FailoverController } from './failover-controller';

export interface FailoverControllerStackProps extends StackProps {
  readonly config: FailoverConfig;
}

/** One deployment: the controller for every group in the config. */
export class FailoverControllerStack extends Stack {
  public readonly controller: FailoverController;

  constructor(scope: Construct, id: string, props: FailoverControllerStackProps) {
    super(scope, id, { description: 'failover-controller: fence, promote, flip DNS, record', ...props });
    this.controller = new FailoverController(this, 'Controller', { config: props.config });
  }
}
