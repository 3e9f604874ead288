/**
 * The whole tracker in one process on the embedded store: `pnpm start` from the repository root.
 * Configuration comes from the environment (docs/configuration.md); a bad value stops the start
 * with the variable's name and the reason.
 */
import { ConfigError, createLogger, loadConfig } from '@tracker/platform';
import { ConfigFileError } from '@tracker/domain';
import { PersistedOperationsFileError } from '@tracker/api';
import { KeyEncryptionKeyError, KeyEncryptionKeyMismatchError } from '@tracker/security';
import { startTracker } from './tracker.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, service: 'tracker' });
  let tracker;
  try {
    tracker = await startTracker({ config, logger });
  } catch (error) {
    // Configuration the process cannot run with: the message names the file or variable, never a secret.
    if (
      error instanceof ConfigFileError ||
      error instanceof PersistedOperationsFileError ||
      error instanceof KeyEncryptionKeyError ||
      error instanceof KeyEncryptionKeyMismatchError
    ) {
      console.error(error.message);
      process.exit(2);
    }
    logger.fatal({ err: error }, 'the tracker could not start');
    process.exit(1);
  }
  const access =
    config.auth.mode === 'development'
      ? 'development mode: every request acts as an administrator, no login (AUTH_MODE=development)'
      : `bearer tokens from ${config.auth.oidcIssuer ?? 'the configured issuer'}`;
  console.log(
    `\nTransition tracker is ready.\n  GraphQL:   ${tracker.url}/graphql${config.nodeEnv === 'production' ? '' : '  (open it in a browser for GraphiQL)'}\n  Ingestion: POST ${tracker.url}/v1/events\n  Readiness: ${tracker.url}/readyz\n  Access:    ${access}\n`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    try {
      await tracker.close();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

await main();
