export * from './config';
export * from './failover-controller';
export * from './stack';
export * from './store';
export * from './workflow';
