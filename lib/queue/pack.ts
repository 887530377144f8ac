// Packs items, in order, into groups whose sizes add up to at most a limit: an SQS send batch
// (lib/queue/dlq.ts) and the local trigger's invoke events (infra/local/sqs-trigger.ts). An item
// bigger than the limit goes alone.
export function packBySize<T>(items: T[], bytesOf: (item: T) => number, bytes_max: number): T[][] {
  const groups: T[][] = [];
  let bytes = 0;
  for (const item of items) {
    const size = bytesOf(item);
    const last = groups.at(-1);
    if (last && bytes + size <= bytes_max) {
      last.push(item);
      bytes += size;
    } else {
      groups.push([item]);
      bytes = size;
    }
  }
  return groups;
}
