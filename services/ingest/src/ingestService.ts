/**
 * The ingest service: facts in → event store, through two doors with one set of rules.
 * - HTTP `POST /v1/events` (the same `ingestionPlugin` as the embedded tracker), for callers with a
 *   token (authPlugin: integrators and administrators may post; an integrator only its own sources);
 * - Kafka `transitions.ingest.v1`: each message is one request body, handed to that same plugin in
 *   process (httpIngestionSubmitter), refusals to `transitions.ingest.dlq.v1`.
 * Every request's id (`x-request-id`, or a new one) is noted for the events it delivers, so the relay
 * can put it on the published CloudEvents (`correlationid`).
 *
 * Both doors append through the encrypting store: CitizenRegistered's `personal` is stored only as
 * ciphertext under the citizen's key, kept in the PostgreSQL key store (KEY_STORE_SCHEMA) that the API
 * replicas share, wrapped by PERSONAL_DATA_KEK. Keys are looked up per event, never cached, so an
 * erasure made by an API replica refuses the citizen's personal data here from the next event on
 * (docs/security.md §7).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { DEMO_UNITS_FILE, loadUnitsFile } from '@tracker/domain';
import { authPlugin, encryptingEventStore, healthPlugin, INGESTION_PATH, ingestionPlugin } from '@tracker/api';
import { createAuthenticator, createPrincipal, PersonalDataProtector, PostgresKeyStore, type Authenticator, type Principal } from '@tracker/security';
import {
  CorrelationLog,
  IngestConsumer,
  ProducerHealth,
  REQUEST_ID_HEADER,
  createOrderedProducer,
  databaseAnswers,
  ensureMessagingTables,
  eventIdsInRequest,
  httpIngestionSubmitter,
  openEventStore,
  openKafka,
  openPool,
  serviceServerOptions,
  Teardown,
  type RunningService,
  type ServiceConfig,
} from '@tracker/messaging';

export interface RunningIngestService extends RunningService {
  app: FastifyInstance;
  consumer: IngestConsumer;
}

export interface IngestServiceOptions {
  /** Replaces the one made from the configuration (tests with a local identity provider). */
  authenticator?: Authenticator;
}

/**
 * Who the Kafka door acts as. Who may write to transitions.ingest.v1 is Kafka's to decide (ACLs), so
 * its messages are trusted as an administrator's — or, with KAFKA_INGEST_SOURCES, as an integrator's
 * whose token names those source systems (other sources' events are refused to the DLQ).
 */
export function kafkaDoorPrincipal(topic: string, sources: readonly string[] | undefined): Principal {
  return createPrincipal({ subject: `kafka:${topic}`, roles: sources === undefined ? ['administrator'] : ['integrator'], sources: sources ?? [] });
}

export async function startIngestService(config: ServiceConfig, logger: Logger, options: IngestServiceOptions = {}): Promise<RunningIngestService> {
  const units = loadUnitsFile(config.unitsFile ?? DEMO_UNITS_FILE);
  // Development mode announces itself here, loudly; it is refused with NODE_ENV=production.
  const authenticator = options.authenticator ?? createAuthenticator(config.auth.settings, { logger, nodeEnv: config.nodeEnv });
  const teardown = new Teardown();
  try {
    // loadServiceConfig requires it for this service; the check is for callers that build a config by hand.
    if (config.personalDataKek === undefined) throw new Error('PERSONAL_DATA_KEK is required for the ingest service');
    const eventStore = await openEventStore(config);
    teardown.add(() => eventStore.close());
    const keyStore = await PostgresKeyStore.open({ connectionString: config.databaseUrl, schema: config.keyStoreSchema });
    teardown.add(() => keyStore.close());
    // Refused at start, with KeyEncryptionKeyMismatchError, when the key store was created under another KEK.
    // With PERSONAL_DATA_KEK_PREVIOUS (a KEK rotation under way), keys wrapped by either KEK are read.
    const personalData = await PersonalDataProtector.open({ kek: config.personalDataKek, previousKek: config.personalData.previousKek, store: keyStore });
    // Every append of both doors goes through this: personal is encrypted first.
    const store = encryptingEventStore(eventStore, personalData);
    const pool = openPool(config, 4);
    teardown.add(() => pool.end());
    await ensureMessagingTables(pool, config.eventStoreSchema);
    const correlations = new CorrelationLog(pool, config.eventStoreSchema);
    const { kafka, topics } = await openKafka(config, logger);
    const producer = createOrderedProducer(kafka);
    const producerHealth = new ProducerHealth(producer);
    await producer.connect();
    teardown.add(() => producer.disconnect());

    // Both doors take events through the same plugin, each noting beforehand which request delivers
    // which events (diagnostics only: a failure is logged and does not refuse the facts).
    const withIngestion = async (app: FastifyInstance) => {
      app.addHook('preHandler', async (request) => {
        if (request.method !== 'POST' || request.routeOptions.url !== INGESTION_PATH) return;
        try {
          await correlations.record(eventIdsInRequest(request.body, config.maxEventsPerRequest), request.id);
        } catch (error) {
          request.log.warn({ err: error }, 'could not note the correlation id of the events');
        }
      });
      await app.register(ingestionPlugin, { store, units, bodyLimitBytes: config.bodyLimitBytes, maxEventsPerRequest: config.maxEventsPerRequest });
    };

    // The HTTP door, with the probes.
    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, ...serviceServerOptions(config.bodyLimitBytes) });
    teardown.add(() => app.close());
    let closing = false;
    app.addHook('onSend', async (request, reply) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      if (closing) reply.header('connection', 'close');
    });

    // The Kafka door: the same plugin in an instance of its own that never listens; the consumer hands
    // it each message in process (fastify inject). Not a bearer token but Kafka decides who may write
    // to the topic, so the door acts as its own principal (kafkaDoorPrincipal).
    const kafkaDoor = Fastify({ loggerInstance: logger.child({ door: 'kafka' }) as FastifyBaseLogger, ...serviceServerOptions(config.bodyLimitBytes) });
    teardown.add(() => kafkaDoor.close());
    const doorPrincipal = kafkaDoorPrincipal(topics.ingest, config.kafkaIngestSources);
    kafkaDoor.decorateRequest('principal', undefined);
    kafkaDoor.addHook('onRequest', async (request) => {
      request.principal = doorPrincipal;
    });
    await withIngestion(kafkaDoor);
    await kafkaDoor.ready();

    const consumer = new IngestConsumer({
      kafka,
      groupId: `${config.kafka.topicPrefix}tracker-ingest`,
      topic: topics.ingest,
      dlqTopic: topics.ingestDlq,
      producer,
      submit: httpIngestionSubmitter(kafkaDoor),
      logger: logger.child({ component: 'ingest-consumer' }),
    });
    // In front of every route but the probes: a valid token (or development mode), requests per client limited.
    await app.register(authPlugin, {
      authenticator,
      rateLimit: config.rateLimitPerMinute > 0 ? { max: config.rateLimitPerMinute, timeWindowMs: 60_000 } : false,
    });
    await app.register(healthPlugin, {
      checks: {
        eventStore: async () => (await eventStore.headPosition()) >= 0,
        database: databaseAnswers(pool),
        kafkaProducer: () => producerHealth.ready,
        kafkaConsumer: () => consumer.health.ready,
        ...(authenticator.mode === 'oidc' ? { identityProvider: async () => (await authenticator.warmUp(), true) } : {}),
      },
    });
    await withIngestion(app);

    const address = await app.listen({ port: config.port, host: config.host });
    await consumer.start();
    teardown.add(() => consumer.stop());

    return {
      app,
      consumer,
      url: address.replace('[::1]', 'localhost'),
      async close() {
        closing = true;
        // The consumer first (added last): it submits through the Kafka door, which must outlive it.
        await teardown.run();
      },
    };
  } catch (error) {
    await teardown.run();
    throw error;
  }
}
