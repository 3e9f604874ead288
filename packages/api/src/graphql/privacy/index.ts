export { privacyExtension, PRIVACY_TYPE_DEFS } from './privacyExtension.ts';
