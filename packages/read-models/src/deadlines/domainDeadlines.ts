/**
 * The domain's deadline module, reached by path until `@tracker/domain`'s index exports it
 * (`export * from './deadlines/index.ts';`); then this file can re-export from '@tracker/domain'.
 * Both resolve to the same module file, so there is one copy of every class either way.
 */
export * from '../../../domain/src/deadlines/index.ts';
