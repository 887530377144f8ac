// The local stand-ins for ElastiCache/MemoryDB, RDS and SQS, one module per service.
export type { ServiceOpts } from './options';
export * from './postgres';
export * from './queue';
export * from './redis';
