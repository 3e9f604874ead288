/**
 * @tracker/messaging: Kafka beside the event store (design.md, "Public contracts"; docs/asyncapi.yaml,
 * docs/distributed.md). The relay (store → transitions.events.v1), the ingest consumer
 * (transitions.ingest.v1 → ingestion, refusals → transitions.ingest.dlq.v1), the alert publisher
 * (transitions.alerts.v1), the projector consumer group (events → PostgreSQL read models), the live
 * feed of GraphQL subscriptions, and what the distributed services share (configuration, start/stop).
 */
export * from './topics.ts';
export { createKafka, createOrderedProducer, ensureTopics, withAdmin, type KafkaClientOptions, type TopicSpec } from './kafka/kafkaClient.ts';
export { ConsumerHealth, ProducerHealth } from './kafka/clientHealth.ts';
export * from './cloudEvents/transitionCloudEvent.ts';

// PostgreSQL beside the event store
export { ensureMessagingTables } from './postgres/messagingTables.ts';
export { CorrelationLog, CORRELATION_ID } from './postgres/correlations.ts';
export { PostgresRelayLeases, type RelayLease } from './postgres/relayLease.ts';

// Relay
export { EventRelay, type EventRelayOptions, type RelayLeases, type RelayState } from './relay/eventRelay.ts';

// Ingest
export { IngestConsumer, correlationIdOf, type IngestConsumerOptions, type IngestOutcome, type IngestSubmitter } from './ingest/ingestConsumer.ts';
export { dlqMessageOf, MAX_DLQ_ERRORS, type DlqContext, type IngestRefusal, type IngestionProblem } from './ingest/dlq.ts';
export { eventIdsInRequest } from './ingest/requestEventIds.ts';
export { httpIngestionSubmitter, IngestionUnavailableError, type InjectableApp } from './ingest/httpIngestionSubmitter.ts';

// Alerts
export * from './alerts/alertPublisher.ts';
export { KafkaAlertPublisher, type KafkaAlertPublisherOptions } from './alerts/kafkaAlertPublisher.ts';
export { AlertOutboxRelay, type AlertOutboxRelayOptions, type AlertRelayState } from './alerts/alertOutboxRelay.ts';

// Projector and read-your-writes
export { KafkaProjector, type KafkaProjectorOptions } from './projector/kafkaProjector.ts';
export * from './projector/readModelSetup.ts';
export { ReadModelWatcher, type ReadModelWatcherOptions, type TimelineQuery } from './projector/readModelWatcher.ts';

// GraphQL subscriptions fed from Kafka
export { KafkaLiveEvents, type KafkaLiveEventsOptions } from './live/kafkaLiveEvents.ts';

// Services
export * from './runtime/serviceConfig.ts';
export { runService, type RunningService, type RunServiceOptions } from './runtime/runService.ts';
export { Teardown } from './runtime/teardown.ts';
export { REQUEST_ID_HEADER, requestIdOf, serviceServerOptions } from './runtime/requestIds.ts';
export { databaseAnswers, openEventStore, openKafka, openPool, type KafkaSetup } from './runtime/engines.ts';
