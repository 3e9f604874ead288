/**
 * The life of a service process: configuration from the environment (a bad value: exit 2, naming the
 * variable), a pino logger, start, and a graceful stop on SIGTERM/SIGINT — in-flight requests and the
 * batch in hand are finished, consumers leave their groups, connections are closed; exit 0. A second
 * signal, or a stop that takes longer than `stopTimeoutMs`, exits 1 at once.
 */
import type { Logger } from 'pino';
import { ConfigError, createLogger } from '@tracker/platform';
import { ConfigFileError } from '@tracker/domain';
import { loadServiceConfig, type ServiceConfig, type ServiceName } from './serviceConfig.ts';

export interface RunningService {
  /** Base URL of its HTTP server (health, and the service's own endpoints). */
  url: string;
  close(): Promise<void>;
}

export interface RunServiceOptions {
  service: ServiceName;
  start(config: ServiceConfig, logger: Logger): Promise<RunningService>;
  /** Default 30 s (below the 30 s Kubernetes and Docker give before SIGKILL, minus the signal's travel). */
  stopTimeoutMs?: number;
}

export async function runService({ service, start, stopTimeoutMs = 25_000 }: RunServiceOptions): Promise<void> {
  let config: ServiceConfig;
  try {
    config = loadServiceConfig(service, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, service });
  let running: RunningService;
  try {
    running = await start(config, logger);
  } catch (error) {
    if (error instanceof ConfigFileError) {
      console.error(error.message);
      process.exit(2);
    }
    logger.fatal({ err: error }, `the ${service} service could not start`);
    process.exit(1);
  }
  logger.info({ url: running.url }, `${service} service ready`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ stopTimeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, stopTimeoutMs);
    timer.unref();
    try {
      await running.close();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
