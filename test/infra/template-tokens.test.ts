import { describe, expect, it } from 'vitest';
import { resolveIntrinsics } from '../../lib/infra/template-tokens';

const resources = {
  Fn: { Type: 'AWS::Lambda::Function' },
  Topic: { Type: 'AWS::SNS::Topic' },
  Table: { Type: 'AWS::DynamoDB::Table' },
};
const where = { account: '111122223333', region: 'eu-west-1' };

describe('resolveIntrinsics', () => {
  it('resolves joins, pseudo parameters, Refs and ARNs as CloudFormation would', () => {
    const value = {
      Resource: { 'Fn::GetAtt': ['Fn', 'Arn'] },
      TopicArn: { Ref: 'Topic' },
      Table: { Ref: 'Table' },
      Zone: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':route53:::hostedzone/Z1']] },
    };

    expect(resolveIntrinsics(value, resources, where)).toEqual({
      Resource: 'arn:aws:lambda:eu-west-1:111122223333:function:Fn',
      TopicArn: 'arn:aws:sns:eu-west-1:111122223333:Topic',
      Table: 'Table',
      Zone: 'arn:aws:route53:::hostedzone/Z1',
    });
  });

  it('uses the given physical names', () => {
    expect(resolveIntrinsics({ 'Fn::GetAtt': ['Fn', 'Arn'] }, resources, { ...where, physicalName: (id) => `drill-${id}` })).toBe(
      'arn:aws:lambda:eu-west-1:111122223333:function:drill-Fn',
    );
  });

  it('refuses what it cannot resolve: an unknown resource or intrinsic', () => {
    expect(() => resolveIntrinsics({ Ref: 'Nope' }, resources, where)).toThrow('template has no resource Nope');
    expect(() => resolveIntrinsics({ 'Fn::ImportValue': 'x' }, resources, where)).toThrow('cannot resolve Fn::ImportValue');
  });
});
