// Deploy order: every function but `migrate` waits for the MigrateDatabase custom resource, so a
// deploy applies the (expanding) migrations before any new code can take traffic (README, the
// migration rule). Built from the function list so a new function cannot be forgotten.
// MigrateDatabase itself waits for what the migrate function needs from the network and data
// fragments (their `migrateAfter`): the VPC endpoints it reads its secrets and answers
// CloudFormation through (S3), the security-group rules that reach the database on 5432, the
// proxy's rule to the Secrets Manager endpoint (it reads the secrets it authenticates migrate with),
// and the database behind the proxy. Without them a first deploy's
// migrate can run before the endpoints exist (no route to Secrets Manager or S3: it times out and
// the deploy rolls back), and a stack delete can remove them before migrate's Delete is answered.
'use strict';

module.exports = async ({ resolveConfigurationProperty, resolveVariable }) => {
  const functions = await resolveConfigurationProperty(['functions']);
  const extensions = {};
  for (const name of Object.keys(functions)) {
    if (name === 'migrate') continue;
    extensions[`${name[0].toUpperCase()}${name.slice(1)}LambdaFunction`] = { DependsOn: ['MigrateDatabase'] };
  }
  const network = await resolveVariable('param:network');
  const dataTier = await resolveVariable('param:dataTier');
  const after = [
    ...((await resolveVariable(`file(./infra/aws/network-${network}.yml):migrateAfter`)) ?? []),
    ...((await resolveVariable(`file(./infra/aws/data-${dataTier}.yml):migrateAfter`)) ?? []),
  ];
  if (after.length > 0) extensions.MigrateDatabase = { DependsOn: after };
  return { extensions };
};
