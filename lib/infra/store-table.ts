/**
 * The DynamoDB table behind the store: history, group state and locks. Its keys come from the one
 * module that reads and writes it (lambdas/core/store.ts).
 *
 * Its resource policy denies item writes to everyone but the roles that `grantItemAccess` gave a write
 * to (the controller's functions) and the operator role: a forged LOCK, PAUSED or handled-outage item
 * would suppress a failover, and an identity policy elsewhere in the account (an administrator's, a CI
 * role's) must not be able to write one.
 */
import { Lazy, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TABLE_KEYS } from '../../lambdas/core/store';

/**
 * Every DynamoDB action that writes an item. A transaction's writes are authorized as the PutItem,
 * UpdateItem and DeleteItem of its members, so denying those denies TransactWriteItems too (DynamoDB
 * Developer Guide, "Using IAM with DynamoDB transactions": "Permissions for Put, Update, Delete, and Get
 * actions are governed by the permissions used for the underlying PutItem, UpdateItem, DeleteItem, and
 * GetItem operations").
 */
export const ITEM_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
] as const;

/** The roles each table's item writes were granted to, in grant order. */
const writersByTable = new WeakMap<dynamodb.ITable, iam.IRole[]>();

/** Item-level access to the table only: no index, no scan, no batch, no stream. A write is recorded for the table's resource policy. */
export function grantItemAccess(table: dynamodb.ITable, grantee: iam.IGrantable, ...actions: Array<'GetItem' | 'PutItem' | 'DeleteItem'>): void {
  iam.Grant.addToPrincipal({ grantee, actions: actions.map((a) => `dynamodb:${a}`), resourceArns: [table.tableArn] });
  if (actions.some((a) => a !== 'GetItem')) {
    const role = grantee.grantPrincipal;
    if (!(role instanceof iam.Role)) throw new Error(`grantItemAccess: the table's resource policy names writers by role ARN, and ${role.toString()} is not a role`);
    const writers = writersByTable.get(table) ?? [];
    if (!writers.includes(role)) writers.push(role);
    writersByTable.set(table, writers);
  }
}

/** The roles granted item writes on the table so far. */
export function itemWriters(table: dynamodb.ITable): readonly iam.IRole[] {
  return writersByTable.get(table) ?? [];
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

  /**
   * Deny every item write to every principal except the roles granted a write with `grantItemAccess`
   * (read when the template is made, so grants made after this call count too) and `alsoAllowed`.
   *
   * The shape: one Deny to `*` with `ArnNotEquals aws:PrincipalArn`. For a role session the key is the
   * role's ARN, not the session's (IAM User Guide, "AWS global condition context keys", aws:PrincipalArn:
   * "For IAM roles, the request context returns the ARN of the role, not the ARN of the user that assumed
   * the role"; "This key is included in the request context for all signed requests"). An explicit Deny
   * in a resource-based policy overrides any Allow, whoever holds it. Reads are not denied.
   *
   * The roles are named by their exact ARNs (`Fn::GetAtt`), not by name patterns: the table then depends
   * on the roles, and there is no cycle because no role depends on the table (the grants that name the
   * table live in separate AWS::IAM::Policy resources, and the operator's managed policy is attached to
   * its role from the policy's side). Exact ARNs cannot match a look-alike role of another stack.
   * `Resource` is `*`: the policy applies to the table it is attached to only, and it cannot name the
   * table's own ARN while the table is being created (aws-dynamodb README, "Resource Policy"; DynamoDB's
   * limit on the document is 20 KB: this statement is well under 2 KB for the controller's few roles).
   *
   * Not denied, on purpose: dynamodb:PutResourcePolicy and DeleteResourcePolicy (CloudFormation updates
   * the policy with the deployer's credentials; whoever may deploy the stack may change it anyway).
   */
  denyItemWritesExcept(alsoAllowed: iam.IRole[]): void {
    const table = this.table;
    this.table.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyTheControllerAndItsOperatorWriteItems',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: [...ITEM_WRITE_ACTIONS],
        resources: ['*'],
        conditions: {
          ArnNotEquals: {
            'aws:PrincipalArn': Lazy.list({ produce: () => [...itemWriters(table), ...alsoAllowed].map((r) => r.roleArn) }),
          },
        },
      }),
    );
  }
}
