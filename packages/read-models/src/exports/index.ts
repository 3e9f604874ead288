export {
  CLOSE_REASONS,
  CitizenInterpreter,
  EXPORTED_ATTRIBUTES,
  formatInstant,
  type AttributeType,
  type ExportAttribute,
  type ExportEvent,
  type Lifecycle,
  type ObjectReference,
  type TimelineRow,
} from './exportEvents.ts';
export { ExportSnapshot, type CitizenHistory, type ExportFilter } from './exportSnapshot.ts';
export { ChunkBuffer, xesDocument, xesTrace, xmlText, type ExportStats } from './xes.ts';
export { OCEL_OBJECT_TYPES, objectId, ocelDocument, type OcelSource } from './ocel.ts';
export { SqliteTransitionExports, type ExportStream, type SqliteTransitionExportsOptions, type TransitionExports } from './sqliteTransitionExports.ts';
