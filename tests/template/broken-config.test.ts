// Pins down that the template rules catch what would deploy broken or unsafe: each deliberately
// broken configuration (applied to the packaged dev template) is reported, naming what is wrong.
import { expect, it } from 'vitest';
import { type Cfn, checkTemplate, type Template } from '../../infra/aws/template-rules';
import { clone, fnId, stageParams, template } from './helpers';

const good = template('dev');
const opts = { account_concurrency: Number(stageParams('dev')['accountConcurrency']) };
const broken = (change: (t: Template) => void) => {
  const t = clone(good);
  change(t);
  return checkTemplate(t, opts);
};
const props = (t: Template, id: string): Cfn => t.Resources[id]!.Properties;

it('the packaged template itself is clean (so each case below fails for its own reason)', () => {
  expect(checkTemplate(good, opts)).toEqual([]);
});

it('catches a function outside the VPC', () => {
  expect(broken((t) => delete props(t, fnId('createOrder')).VpcConfig)).toEqual([
    'CreateOrderLambdaFunction: not in the VPC (two subnets, a security group)',
  ]);
  expect(broken((t) => (props(t, fnId('docs')).VpcConfig.SubnetIds = [{ Ref: 'PrivateSubnetA' }]))).toEqual([
    'DocsLambdaFunction: not in the VPC (two subnets, a security group)',
  ]);
});

it('catches a * policy: a wildcard action, a * resource, a managed policy', () => {
  const addStatement = (statement: Cfn) => (t: Template) =>
    props(t, 'PublicRole').Policies[0].PolicyDocument.Statement.push(statement);
  expect(broken(addStatement({ Effect: 'Allow', Action: '*', Resource: '*' }))).toEqual([
    'PublicRole/PublicRole: wildcard action *',
    'PublicRole/PublicRole: Resource "*" for *',
  ]);
  expect(
    broken(
      addStatement({
        Effect: 'Allow',
        Action: ['sqs:*'],
        Resource: [{ 'Fn::GetAtt': ['OrdersDLQ', 'Arn'] }],
      }),
    ),
  ).toEqual(['PublicRole/PublicRole: wildcard action sqs:*']);
  expect(
    broken(addStatement({ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: '*' })),
  ).toEqual(['PublicRole/PublicRole: Resource "*" for secretsmanager:GetSecretValue']);
  expect(
    broken((t) => (props(t, 'ApiRole').ManagedPolicyArns = ['arn:aws:iam::aws:policy/AdministratorAccess'])),
  ).toEqual([
    'ApiRole/managed: managed policy "arn:aws:iam::aws:policy/AdministratorAccess" (grant inline, narrowly)',
  ]);
});

it('catches a plaintext secret in an environment', () => {
  const setVar = (name: string, value: Cfn) => (t: Template) =>
    (props(t, fnId('paymentWebhook')).Environment.Variables[name] = value);
  expect(broken(setVar('WEBHOOK_SECRET', 'whsec_c2VjcmV0LXZhbHVlLWZvci10ZXN0'))).toEqual([
    'PaymentWebhookLambdaFunction: WEBHOOK_SECRET holds a secret value; pass WEBHOOK_SECRET_ARN',
  ]);
  expect(
    broken(setVar('DATABASE_URL', 'postgres://flashsale_app:hunter2hunter2@db.example:5432/flashsale')),
  ).toEqual(['PaymentWebhookLambdaFunction: DATABASE_URL holds a URL with a password']);
  expect(broken(setVar('AUTH_JWT_SECRET_ARN', 'not-an-arn-but-the-key-itself'))).toEqual([
    'PaymentWebhookLambdaFunction: AUTH_JWT_SECRET_ARN is not an ARN',
  ]);
  expect(
    broken(setVar('SIGNING', { 'Fn::Sub': '{{resolve:secretsmanager:flash-sale/dev/jwt:SecretString}}' })),
  ).toEqual(['PaymentWebhookLambdaFunction: SIGNING holds a resolved secret']);
});

it('catches a visibility timeout under 6x the consumer timeout, under 30 min of retries before the DLQ, and a DLQ keeping less than its queue', () => {
  expect(broken((t) => (props(t, 'OrdersQueue').VisibilityTimeout = 30))).toEqual([
    'OrdersQueue: VisibilityTimeout 30 s < 6 x PersistOrdersLambdaFunction timeout 20 s (PersistOrdersEventSourceMappingSQSOrdersQueue)',
    'OrdersQueue: maxReceiveCount 15 x VisibilityTimeout 30 s < 1800 s of retries before the DLQ',
  ]);
  expect(broken((t) => (props(t, fnId('persistOrders')).Timeout = 25))).toHaveLength(1);
  expect(broken((t) => (props(t, 'OrdersQueue').RedrivePolicy.maxReceiveCount = 5))).toEqual([
    'OrdersQueue: maxReceiveCount 5 x VisibilityTimeout 120 s < 1800 s of retries before the DLQ',
  ]);
  expect(broken((t) => (props(t, 'OrdersDLQ').MessageRetentionPeriod = 345_600))).toEqual([
    "OrdersDLQ: retention 345600 s not longer than OrdersQueue's 345600 s",
  ]);
});

it('catches reserved concurrency that leaves fewer than 100 unreserved executions', () => {
  // 900 + persistOrders 5 + release 1 + migrate 1
  expect(broken((t) => (props(t, fnId('createOrder')).ReservedConcurrentExecutions = 900))).toEqual([
    `reserved concurrency 907 > ${opts.account_concurrency - 100} (quota ${opts.account_concurrency} - 100 unreserved)`,
  ]);
});

it('catches a packaging-time lookup left in the template', () => {
  const lookup = ['$', '{ssm:/flash-sale/dev/x}'].join(''); // an osls variable, not a JS template
  expect(broken((t) => (props(t, fnId('readyz')).Environment.Variables.X = lookup))).toEqual([
    `unresolved variable ${lookup}`,
  ]);
});

it('catches an alarm subscription whose endpoint the topic may not reach (sqs, lambda)', () => {
  // stage parameter alarmProtocol: the topic would publish every alarm and reach no one
  for (const protocol of ['sqs', 'lambda'])
    expect(broken((t) => (props(t, 'OpsAlarmSubscription').Protocol = protocol))).toEqual([
      `OpsAlarmSubscription: protocol "${protocol}" needs a permission on its endpoint this stack does not grant (use email, email-json, https, sms)`,
    ]);
  expect(broken((t) => (props(t, 'OpsAlarmSubscription').Protocol = 'https'))).toEqual([]);
});

it("catches identity-provider mode in a stage whose own VPC has no route to the provider's JWKS", () => {
  // stage parameter authJwksUrl with network: new (no NAT): every authenticated route would answer 503
  const jwks = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example/.well-known/jwks.json';
  const withJwks = (t: Template) => {
    for (const fn of ['createOrder', 'getOrder'])
      props(t, fnId(fn)).Environment.Variables.AUTH_JWKS_URL = jwks;
  };
  expect(broken(withJwks)).toEqual([
    `CreateOrderLambdaFunction: AUTH_JWKS_URL "${jwks}" is unreachable from the stage's VPC (no route out)`,
    `GetOrderLambdaFunction: AUTH_JWKS_URL "${jwks}" is unreachable from the stage's VPC (no route out)`,
  ]);
  // a NAT gateway added to the stage's VPC is a route out
  expect(
    broken((t) => {
      withJwks(t);
      t.Resources['Nat'] = { Type: 'AWS::EC2::NatGateway', Properties: {} };
    }),
  ).toEqual([]);
});
