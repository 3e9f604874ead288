export * from './model.ts';
export * from './worldOrder.ts';
export * from './analyseCitizen.ts';
export * from './asOf.ts';
