/**
 * Resolve the CloudFormation intrinsics a synthesized template uses (`Fn::Join`, `Ref`,
 * `Fn::GetAtt ... Arn`, pseudo parameters) to plain strings, as CloudFormation would in one account and
 * region. The drill uses it to get runnable ASL; the construct tests to assert concrete ARNs.
 */

export interface Deployment {
  account: string;
  region: string;
  /** The physical name a resource gets; default: its logical id. */
  physicalName?: (logicalId: string) => string;
}

type Resources = Record<string, { Type: string }>;

export function resolveIntrinsics(value: unknown, resources: Resources, where: Deployment): any {
  const { account, region } = where;
  const nameOf = (id: string) => {
    if (!resources[id]) throw new Error(`template has no resource ${id}`);
    return where.physicalName ? where.physicalName(id) : id;
  };
  const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': region, 'AWS::AccountId': account, 'AWS::URLSuffix': 'amazonaws.com' };
  // What `Ref` returns: an ARN for topics and state machines, the physical name otherwise.
  const refOf = (id: string): string => {
    const name = nameOf(id);
    switch (resources[id].Type) {
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${region}:${account}:${name}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${region}:${account}:stateMachine:${name}`;
      default:
        return name;
    }
  };
  const arnOf = (id: string): string => {
    const name = nameOf(id);
    switch (resources[id].Type) {
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${region}:${account}:function:${name}`;
      case 'AWS::DynamoDB::Table':
        return `arn:aws:dynamodb:${region}:${account}:table/${name}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${region}:${account}:log-group:${name}:*`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${account}:role/${name}`;
      case 'AWS::Events::Rule':
        return `arn:aws:events:${region}:${account}:rule/${name}`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${region}:${account}:key/${name}`;
      case 'AWS::CloudWatch::Alarm':
        return `arn:aws:cloudwatch:${region}:${account}:alarm:${name}`;
      default:
        return refOf(id);
    }
  };
  const resolve = (v: unknown): any => {
    if (Array.isArray(v)) return v.map(resolve);
    if (v === null || typeof v !== 'object') return v;
    const obj = v as Record<string, any>;
    if ('Fn::Join' in obj) {
      const [separator, parts] = obj['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(separator);
    }
    if ('Ref' in obj) return pseudo[obj.Ref] ?? refOf(obj.Ref);
    if ('Fn::GetAtt' in obj) {
      const [id, attribute] = obj['Fn::GetAtt'] as [string, string];
      return attribute === 'Arn' ? arnOf(id) : `${nameOf(id)}.${attribute}`;
    }
    const unknown = Object.keys(obj).find((k) => k.startsWith('Fn::'));
    if (unknown) throw new Error(`cannot resolve ${unknown} in ${JSON.stringify(obj)}`);
    return Object.fromEntries(Object.entries(obj).map(([k, x]) => [k, resolve(x)]));
  };
  return resolve(value);
}
