/**
 * The projector service: transitions.events.v1 → PostgreSQL read models, in a consumer group (run as
 * many as the topic has partitions; they share the work by citizen). Its HTTP server answers the probes.
 */
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import { DEMO_UNITS_FILE, loadPolicies, loadUnitsFile } from '@tracker/domain';
import { healthPlugin } from '@tracker/api';
import {
  KafkaProjector,
  databaseAnswers,
  openKafka,
  openPool,
  serviceServerOptions,
  Teardown,
  trackerReadModelOptions,
  type RunningService,
  type ServiceConfig,
} from '@tracker/messaging';

export interface RunningProjectorService extends RunningService {
  projector: KafkaProjector;
}

export async function startProjectorService(config: ServiceConfig, logger: Logger): Promise<RunningProjectorService> {
  const units = loadUnitsFile(config.unitsFile ?? DEMO_UNITS_FILE);
  const teardown = new Teardown();
  try {
    const pool = openPool(config, 10);
    teardown.add(() => pool.end());
    const { kafka, topics } = await openKafka(config, logger);
    const projector = new KafkaProjector({
      kafka,
      topic: topics.events,
      groupPrefix: `${config.kafka.topicPrefix}tracker-projector`,
      pool,
      schema: config.readModelSchema,
      readModel: trackerReadModelOptions(units, loadPolicies(config.policiesFile)),
      logger: logger.child({ component: 'projector' }),
    });
    await projector.start();
    teardown.add(() => projector.stop());

    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, ...serviceServerOptions(config.bodyLimitBytes) });
    teardown.add(() => app.close());
    await app.register(healthPlugin, {
      checks: { database: databaseAnswers(pool), kafka: () => projector.ready },
    });
    const address = await app.listen({ port: config.port, host: config.host });
    return { projector, url: address.replace('[::1]', 'localhost'), close: () => teardown.run() };
  } catch (error) {
    await teardown.run();
    throw error;
  }
}
