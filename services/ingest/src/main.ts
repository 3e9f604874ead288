/**
 * The ingest service process (distributed mode): `pnpm --filter @tracker/service-ingest start`.
 * Environment: docs/distributed.md ("Services").
 */
import { runService } from '@tracker/messaging';
import { startIngestService } from './ingestService.ts';

await runService({ service: 'ingest', start: (config, logger) => startIngestService(config, logger) });
