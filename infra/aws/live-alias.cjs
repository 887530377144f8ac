// createOrder's `live` alias and its Application Auto Scaling target (minimum 0), so `cli prewarm`
// can schedule provisioned concurrency for a sale window (README "Warm capacity before a sale").
// Provisioned concurrency serves only invocations of the alias, so POST /api/orders is pointed at
// it. osls creates an alias only with a fixed `provisionedConcurrency` (billed around the clock),
// so this plugin adds one after osls has compiled the function's version and the HTTP API.
'use strict';

const ALIAS = 'live';
const FN = 'CreateOrderLambdaFunction';

class LiveAlias {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'after:package:compileEvents': () => this.addAlias() };
  }

  addAlias() {
    const resources = this.serverless.service.provider.compiledCloudFormationTemplate.Resources;
    const version = Object.keys(resources).find(
      (id) => resources[id].Type === 'AWS::Lambda::Version' && id.startsWith('CreateOrderLambdaVersion'),
    );
    if (!resources[FN] || !version) throw new Error('live-alias: createOrder or its version is missing');
    resources.CreateOrderLiveAlias = {
      Type: 'AWS::Lambda::Alias',
      Properties: {
        FunctionName: { Ref: FN },
        FunctionVersion: { 'Fn::GetAtt': [version, 'Version'] },
        Name: ALIAS,
      },
    };
    const fnName = resources[FN].Properties.FunctionName;
    resources.CreateOrderScalableTarget = {
      Type: 'AWS::ApplicationAutoScaling::ScalableTarget',
      DependsOn: ['CreateOrderLiveAlias'],
      Properties: {
        ServiceNamespace: 'lambda',
        ScalableDimension: 'lambda:function:ProvisionedConcurrency',
        ResourceId: { 'Fn::Join': ['', ['function:', fnName, `:${ALIAS}`]] },
        // nothing warm (nothing billed) until `cli prewarm` schedules a sale window
        MinCapacity: 0,
        MaxCapacity: resources[FN].Properties.ReservedConcurrentExecutions ?? 1000,
      },
    };
    for (const r of Object.values(resources)) pointAtAlias(r);
  }
}

/** The createOrder route's integration and its invoke permission name the alias, not $LATEST. */
function pointAtAlias(r) {
  const arn = { 'Fn::GetAtt': [FN, 'Arn'] };
  const isFnArn = (v) => JSON.stringify(v) === JSON.stringify(arn);
  if (r.Type === 'AWS::ApiGatewayV2::Integration' && isFnArn(r.Properties.IntegrationUri)) {
    r.Properties.IntegrationUri = { Ref: 'CreateOrderLiveAlias' };
  }
  if (r.Type === 'AWS::Lambda::Permission' && isFnArn(r.Properties.FunctionName)) {
    r.Properties.FunctionName = { Ref: 'CreateOrderLiveAlias' };
    r.DependsOn = [...new Set([...(r.DependsOn ?? []), 'CreateOrderLiveAlias'])];
  }
}

module.exports = LiveAlias;
