/**
 * The relay service process (distributed mode): `pnpm --filter @tracker/service-relay start`.
 * Environment: docs/distributed.md ("Services").
 */
import { runService } from '@tracker/messaging';
import { startRelayService } from './relayService.ts';

await runService({ service: 'relay', start: (config, logger) => startRelayService(config, logger) });
