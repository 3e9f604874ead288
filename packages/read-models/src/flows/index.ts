export {
  AGE_BANDS,
  FLOW_HANDOVERS_TABLE,
  LOST_AFTER_DAYS,
  ageBandOf,
  calendarDaysBetween,
  createFlowDerivation,
  deriveFlowHandovers,
  type AgeBand,
  type FlowHandoverRow,
} from './flowDerivation.ts';
export {
  FlowCell,
  SMALL_CELL_THRESHOLD,
  groupIntoCells,
  outcomeAt,
  quantile,
  suppressSmallCells,
  type FlowMeasures,
  type FlowOutcome,
  type JudgedHandover,
  type SuppressedMeasures,
} from './flowStatistics.ts';
export {
  FlowViews,
  UNKNOWN_SECTOR,
  type CohortFilter,
  type CohortFlowView,
  type FlowEdgeView,
  type FlowPeriod,
  type FlowQueries,
  type FlowSource,
  type FlowViewsOptions,
  type SectorFlowView,
} from './flowQueries.ts';
export { SqliteFlowSource, sqliteFlowQueries, type SqliteDatabaseHolder } from './sqliteFlowSource.ts';
export { FLOW_ROW_COLUMNS, judgedHandover, type FlowRow, type FlowRowColumn } from './flowHandoverRows.ts';
export { PostgresFlowSource, postgresFlowQueries, type PostgresQueryHolder } from './postgresFlowSource.ts';
