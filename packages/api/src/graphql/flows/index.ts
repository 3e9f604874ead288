export { DEFAULT_FLOW_PERIOD_MONTHS, FLOWS_TYPE_DEFS, flowPeriodArguments, flowsExtension, type FlowsExtensionOptions } from './flowsExtension.ts';
