/**
 * Errors of the simulated account, built exactly as the SDK's protocol deserializers would build them:
 * the service's modelled exception class, `name`, `$fault` and `$metadata` with AWS's HTTP status.
 */
import * as ec2 from '@aws-sdk/client-ec2';
import * as rds from '@aws-sdk/client-rds';
import * as r53 from '@aws-sdk/client-route-53';
import * as cw from '@aws-sdk/client-cloudwatch';
import * as sns from '@aws-sdk/client-sns';
import * as sfn from '@aws-sdk/client-sfn';
import * as autoscaling from '@aws-sdk/client-auto-scaling';
import * as lambda from '@aws-sdk/client-lambda';
import * as sqs from '@aws-sdk/client-sqs';

export type SimService = 'ec2' | 'rds' | 'route53' | 'cloudwatch' | 'sns' | 'sfn' | 'autoscaling' | 'lambda' | 'sqs';

interface ExceptionOptions {
  name: string; message: string; $fault: 'client' | 'server';
  $metadata: { httpStatusCode: number; requestId: string; attempts: number; totalRetryDelay: number };
  [extra: string]: unknown;
}
type ExceptionCtor = new (opts: ExceptionOptions) => Error;

const SERVICES: Record<SimService, {
  sdk: Record<string, unknown>; base: ExceptionCtor;
  throttle: { name: string; message: string }; queryProtocol: boolean;
}> = {
  ec2: { sdk: ec2, base: ec2.EC2ServiceException as unknown as ExceptionCtor,
    throttle: { name: 'RequestLimitExceeded', message: 'Request limit exceeded.' }, queryProtocol: false },
  rds: { sdk: rds, base: rds.RDSServiceException as unknown as ExceptionCtor,
    throttle: { name: 'Throttling', message: 'Rate exceeded' }, queryProtocol: true },
  route53: { sdk: r53, base: r53.Route53ServiceException as unknown as ExceptionCtor,
    throttle: { name: 'Throttling', message: 'Rate exceeded' }, queryProtocol: false },
  cloudwatch: { sdk: cw, base: cw.CloudWatchServiceException as unknown as ExceptionCtor,
    throttle: { name: 'Throttling', message: 'Rate exceeded' }, queryProtocol: true },
  // SNS's wire code is 'Throttled'; the SDK maps it to its modelled ThrottledException class.
  sns: { sdk: sns, base: sns.SNSServiceException as unknown as ExceptionCtor,
    throttle: { name: 'ThrottledException', message: 'Rate exceeded' }, queryProtocol: true },
  sfn: { sdk: sfn, base: sfn.SFNServiceException as unknown as ExceptionCtor,
    throttle: { name: 'ThrottlingException', message: 'Rate exceeded' }, queryProtocol: false },
  autoscaling: { sdk: autoscaling, base: autoscaling.AutoScalingServiceException as unknown as ExceptionCtor,
    throttle: { name: 'Throttling', message: 'Rate exceeded' }, queryProtocol: true },
  // Lambda's REST-JSON errors (Lambda API reference, Invoke: Errors).
  lambda: { sdk: lambda, base: lambda.LambdaServiceException as unknown as ExceptionCtor,
    throttle: { name: 'TooManyRequestsException', message: 'Rate Exceeded.' }, queryProtocol: false },
  // SQS's JSON protocol (its errors keep their query-protocol names: QueueDoesNotExist, RequestThrottled).
  sqs: { sdk: sqs, base: sqs.SQSServiceException as unknown as ExceptionCtor,
    throttle: { name: 'RequestThrottled', message: 'Request is throttled.' }, queryProtocol: false },
};

/**
 * What the SDK throws when a region's endpoint does not answer: no AWS error at all, but the HTTP
 * handler's own TimeoutError once the client's connection or request timeout runs out
 * (@smithy/node-http-handler), with no `$metadata` from the service.
 */
export function unreachableError(service: SimService, region: string, afterMs: number): Error {
  return Object.assign(
    new Error(`@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of ${afterMs} ms. (${service}.${region}.amazonaws.com)`),
    { name: 'TimeoutError', code: 'ETIMEDOUT' },
  );
}

/** The error name and message the service answers with when it throttles a caller. */
export function throttlingOf(service: SimService): { name: string; message: string } {
  return SERVICES[service].throttle;
}

/**
 * HTTP status AWS answers with, where it is not 400. EC2 codes: EC2 API error reference (DryRun is a
 * 412, throttling a 503). Others: the httpError / awsQueryError traits in each SDK's error schema.
 */
const HTTP_STATUS: Record<string, number> = {
  'ec2:DryRunOperation': 412, 'ec2:UnauthorizedOperation': 403, 'ec2:RequestLimitExceeded': 503,
  'ec2:InternalError': 500, 'ec2:Unavailable': 503,
  'rds:DBInstanceNotFoundFault': 404, 'rds:InternalFailure': 500, 'rds:ServiceUnavailable': 503,
  'route53:NoSuchHostedZone': 404, 'route53:NoSuchChange': 404, 'route53:ServiceUnavailable': 503,
  'cloudwatch:InternalServiceFault': 500, 'cloudwatch:ServiceUnavailable': 503,
  'sns:NotFoundException': 404, 'sns:ThrottledException': 429, 'sns:InternalErrorException': 500,
  'lambda:ResourceNotFoundException': 404, 'lambda:TooManyRequestsException': 429, 'lambda:ServiceException': 500,
};

/** The SDK's own class for a modelled error; for query protocols the wire code ('NotFound') works too. */
function modeledClass(service: SimService, name: string): ExceptionCtor | undefined {
  const { sdk, base, queryProtocol } = SERVICES[service];
  const candidates = queryProtocol ? [name, `${name}Exception`, `${name}Fault`] : [name];
  for (const c of candidates) {
    const v = sdk[c];
    if (typeof v === 'function' && base.prototype.isPrototypeOf(v.prototype)) return v as ExceptionCtor;
  }
  return undefined;
}

// One counter for the whole process: request ids, SNS message ids and default execution names draw from it.
let requestCounter = 0;
export function nextRequestId(): string {
  requestCounter += 1;
  return `00000000-0000-4000-8000-${requestCounter.toString(16).padStart(12, '0')}`;
}

/** An error as the SDK throws it: service exception class, `name`, `$fault`, `$metadata`. */
export function awsError(service: SimService, name: string, message: string, extra: Record<string, unknown> = {}): Error {
  const Modeled = modeledClass(service, name);
  const sdkName = Modeled ? Modeled.name : name;
  const status = HTTP_STATUS[`${service}:${sdkName}`]
    ?? (/^(Internal|ServiceUnavailable|Unavailable)/.test(sdkName) ? 500 : 400);
  const opts: ExceptionOptions = {
    name: sdkName, message, $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: nextRequestId(), attempts: 1, totalRetryDelay: 0 },
    ...extra,
  };
  return Modeled ? new Modeled(opts) : new SERVICES[service].base(opts);
}
