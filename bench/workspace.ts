/**
 * The workspace packages the benchmarks drive, imported from their entry points (each package's
 * `exports["."]`, i.e. the same modules `@tracker/*` resolves to inside the workspace).
 *
 * Why not `import … from '@tracker/domain'`: the root package (where bench/ lives) does not depend on the
 * workspace packages, so `@tracker/*` does not resolve from bench/ (neither for tsx nor for tsc), and the
 * benchmarks must not change package.json. Node resolves the packages' own `@tracker/*` symlinks to these
 * same real paths, so there is one module instance of each (instanceof and class identity hold). If the
 * root ever lists the packages as devDependencies, replace these paths with the package names here only.
 */
// Named, not `export *`: the packages grow, and two of them exporting the same name must not break bench/.
export {
  DEMO_UNITS_FILE,
  WorkingDayCalendar,
  citizenDecider,
  loadUnitsFile,
  systemClock,
  validateEvent,
  type CitizenCommand,
  type CitizenState,
  type StoredEvent,
  type TransitionEvent,
  type UnitDirectory,
} from '../packages/domain/src/index.ts';
export { CitizenStateCache, SqliteEventStore, handleCitizenCommand } from '../packages/event-store/src/index.ts';
export { Projector, SqliteReadModel, projectEvent, type ProjectionContext, type ProjectionTarget } from '../packages/read-models/src/index.ts';
export { Random, generateEvents } from '../packages/generator/src/index.ts';
export { createLogger, loadConfig, type TrackerConfig } from '../packages/platform/src/index.ts';
export { startTracker, type RunningTracker } from '../services/tracker/src/tracker.ts';
