// Deploy order: every function but `migrate` waits for the MigrateDatabase custom resource, so a
// deploy applies the (expanding) migrations before any new code can take traffic (README, the
// migration rule). Built from the function list so a new function cannot be forgotten.
'use strict';

module.exports = async ({ resolveConfigurationProperty }) => {
  const functions = await resolveConfigurationProperty(['functions']);
  const extensions = {};
  for (const name of Object.keys(functions)) {
    if (name === 'migrate') continue;
    extensions[`${name[0].toUpperCase()}${name.slice(1)}LambdaFunction`] = { DependsOn: ['MigrateDatabase'] };
  }
  return { extensions };
};
