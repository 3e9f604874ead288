/**
 * The API service process (distributed mode): `pnpm --filter @tracker/service-api start`.
 * Environment: docs/distributed.md ("Services").
 */
import { runService } from '@tracker/messaging';
import { startApiService } from './apiService.ts';

await runService({ service: 'api', start: (config, logger) => startApiService(config, logger) });
