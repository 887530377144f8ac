// Reading the packaged templates and serverless.yml's stage parameters in template tests.
import { stageParams as params, readTemplate } from '../../infra/aws/package';
import type { Cfn, Template } from '../../infra/aws/template-rules';

export const template = (stage: string): Template => readTemplate(stage);

export const stageParams = (stage: string): Record<string, Cfn> => params(stage);

export const fnId = (name: string) => `${name[0]!.toUpperCase()}${name.slice(1)}LambdaFunction`;

export function env(t: Template, fn: string): Record<string, Cfn> {
  return t.Resources[fnId(fn)]?.Properties?.Environment?.Variables ?? {};
}

/** Allowed statements of the role a function runs with. */
export function roleStatements(t: Template, fn: string): Cfn[] {
  const roleId = t.Resources[fnId(fn)]?.Properties?.Role?.['Fn::GetAtt']?.[0];
  if (!roleId) throw new Error(`${fn} has no role of this template`);
  const role = t.Resources[roleId]!;
  return (role.Properties.Policies as Cfn[]).flatMap((p) => p.PolicyDocument.Statement);
}

/** Does any statement of the function's role allow `action` on a resource equal to `resource`? */
export function allows(t: Template, fn: string, action: string, resource: Cfn): boolean {
  return roleStatements(t, fn).some(
    (s) =>
      s.Effect === 'Allow' &&
      [s.Action].flat().includes(action) &&
      [s.Resource].flat().some((r: Cfn) => JSON.stringify(r) === JSON.stringify(resource)),
  );
}

export const clone = <T>(x: T): T => structuredClone(x);
