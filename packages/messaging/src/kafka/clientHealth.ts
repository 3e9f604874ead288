/**
 * Whether a kafkajs consumer is doing its job, for `/readyz`: it has joined its group (and has not
 * left it since), and has not crashed for good. A rebalance is normal and keeps it ready.
 */
import type { Consumer, Producer } from 'kafkajs';

export class ConsumerHealth {
  #joined = false;
  #crashed = false;
  #joinedOnce: Promise<void>;
  #markJoined!: () => void;

  constructor(consumer: Consumer) {
    this.#joinedOnce = new Promise((resolve) => (this.#markJoined = resolve));
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.#joined = true;
      this.#crashed = false;
      this.#markJoined();
    });
    consumer.on(consumer.events.CRASH, (event) => {
      this.#joined = false;
      if (!event.payload.restart) this.#crashed = true;
    });
    consumer.on(consumer.events.STOP, () => (this.#joined = false));
    consumer.on(consumer.events.DISCONNECT, () => (this.#joined = false));
  }

  get ready(): boolean {
    return this.#joined && !this.#crashed;
  }

  get crashed(): boolean {
    return this.#crashed;
  }

  /** Resolves at the first GROUP_JOIN; rejects after the timeout. */
  joined(timeoutMs = 30_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the consumer did not join its group within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    });
    return Promise.race([this.#joinedOnce, timeout]).finally(() => clearTimeout(timer));
  }
}

/** Whether a kafkajs producer is connected, for `/readyz`. */
export class ProducerHealth {
  #connected = false;

  constructor(producer: Producer) {
    producer.on(producer.events.CONNECT, () => (this.#connected = true));
    producer.on(producer.events.DISCONNECT, () => (this.#connected = false));
  }

  get ready(): boolean {
    return this.#connected;
  }
}
