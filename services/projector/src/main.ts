/**
 * The projector service process (distributed mode): `pnpm --filter @tracker/service-projector start`.
 * Environment: docs/distributed.md ("Services").
 */
import { runService } from '@tracker/messaging';
import { startProjectorService } from './projectorService.ts';

await runService({ service: 'projector', start: startProjectorService });
