/** Test helpers for other packages' security tests (attack tests against the API). Never used in production code. */
export * from './testIssuer.ts';
