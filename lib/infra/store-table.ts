/**
 * The DynamoDB table behind the store: history, group state and locks. Its keys come from the one
 * module that reads and writes it (lambdas/core/store.ts).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TABLE_KEYS } from '../../lambdas/core/store';

/** Item-level access to the table only: no index, no scan, no batch, no stream. */
export function grantItemAccess(table: dynamodb.ITable, grantee: iam.IGrantable, ...actions: Array<'GetItem' | 'PutItem' | 'DeleteItem'>): void {
  iam.Grant.addToPrincipal({ grantee, actions: actions.map((a) => `dynamodb:${a}`), resourceArns: [table.tableArn] });
}

export class FailoverStore extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const string = dynamodb.AttributeType.STRING;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: string },
      sortKey: { name: TABLE_KEYS.sortKey, type: string },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      // The history is the record of what the controller did: it outlives the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE_KEYS.historyIndex.name,
      partitionKey: { name: TABLE_KEYS.historyIndex.partitionKey, type: string },
      sortKey: { name: TABLE_KEYS.historyIndex.sortKey, type: string },
    });
  }
}
