/** The AlertPublisher on Kafka: one send per call, acked by all in-sync replicas before it resolves. */
import type { Producer } from 'kafkajs';
import { CLOUDEVENTS_CONTENT_TYPE } from '../cloudEvents/transitionCloudEvent.ts';
import { toAlertCloudEvent, type AlertPublisher, type TrackerAlert } from './alertPublisher.ts';

export interface KafkaAlertPublisherOptions {
  /** Connected, made by `createOrderedProducer`, so a citizen's alerts keep their order. */
  producer: Producer;
  topic: string;
  /** CloudEvents `source`. */
  source: string;
}

export class KafkaAlertPublisher implements AlertPublisher {
  readonly #options: KafkaAlertPublisherOptions;

  constructor(options: KafkaAlertPublisherOptions) {
    this.#options = options;
  }

  async publish(alerts: readonly TrackerAlert[]): Promise<void> {
    if (alerts.length === 0) return;
    const { producer, topic, source } = this.#options;
    await producer.send({
      topic,
      acks: -1,
      messages: alerts.map((alert) => ({
        key: alert.citizenId,
        value: JSON.stringify(toAlertCloudEvent(alert, source)),
        headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE },
      })),
    });
  }
}
