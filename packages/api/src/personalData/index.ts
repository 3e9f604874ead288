export { encryptingEventStore } from './encryptingEventStore.ts';
