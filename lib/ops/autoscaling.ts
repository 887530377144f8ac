// Adapter: createOrder's provisioned-concurrency schedule in Application Auto Scaling. Used only by
// the operator's CLI with the operator's credentials; no function carries this client.
import {
  type ApplicationAutoScalingClient,
  DeleteScheduledActionCommand,
  DescribeScheduledActionsCommand,
  PutScheduledActionCommand,
} from '@aws-sdk/client-application-auto-scaling';
import type { ScheduledAction } from './prewarm';

export interface ScalableAlias {
  /** `function:<function name>:<alias>` */
  resource_id: string;
}

const TARGET = {
  ServiceNamespace: 'lambda',
  ScalableDimension: 'lambda:function:ProvisionedConcurrency',
} as const;

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC, the one-time schedule format. */
function atExpression(at_ms: number): string {
  return `at(${new Date(at_ms).toISOString().slice(0, 19)})`;
}

export function scheduleStore(client: ApplicationAutoScalingClient, alias: ScalableAlias) {
  const target = { ...TARGET, ResourceId: alias.resource_id };
  return {
    async list(): Promise<ScheduledAction[]> {
      const out: ScheduledAction[] = [];
      let NextToken: string | undefined;
      do {
        const page = await client.send(new DescribeScheduledActionsCommand({ ...target, NextToken }));
        for (const a of page.ScheduledActions ?? []) {
          const at = /^at\((.+)\)$/.exec(a.Schedule ?? '')?.[1];
          if (!a.ScheduledActionName || !at) continue;
          out.push({
            name: a.ScheduledActionName,
            at_ms: Date.parse(`${at}Z`),
            concurrency: a.ScalableTargetAction?.MinCapacity ?? 0,
          });
        }
        NextToken = page.NextToken;
      } while (NextToken);
      return out;
    },
    async put(a: ScheduledAction): Promise<void> {
      await client.send(
        new PutScheduledActionCommand({
          ...target,
          ScheduledActionName: a.name,
          Schedule: atExpression(a.at_ms),
          // min = max: exactly this many warm containers from then on (0 = none, on-demand only)
          ScalableTargetAction: { MinCapacity: a.concurrency, MaxCapacity: a.concurrency },
        }),
      );
    },
    async remove(name: string): Promise<void> {
      await client.send(new DeleteScheduledActionCommand({ ...target, ScheduledActionName: name }));
    },
  };
}
