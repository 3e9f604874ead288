export { gapsGraphqlExtension, GAPS_TYPE_DEFS } from './gapsExtension.ts';
