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
export { fromSnapshot, SnapshotCount, type ExportStream, type HeldSnapshot, type TransitionExports } from './transitionExports.ts';
export { SqliteTransitionExports, type SqliteTransitionExportsOptions } from './sqliteTransitionExports.ts';
export { PostgresExportSnapshot, postgresCitizenSelection } from './postgresExportSnapshot.ts';
export { PostgresTransitionExports, type PostgresTransitionExportsOptions } from './postgresTransitionExports.ts';
