export * from '../lambdas/core/config';
export * from './infra/failover-controller';
export * from './infra/stack';
export * from './infra/store-table';
export * from './infra/workflow';
