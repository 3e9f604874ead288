export { EXPORT_PATHS, exportFilterOf, exportsPlugin, type ExportErrorResponse, type ExportFormat, type ExportQueryError, type ExportsPluginOptions } from './exportsPlugin.ts';
