import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKeyEncryptionKey } from '@tracker/security';
import { ConfigError, loadConfig, type ConfigProblem, type TrackerConfig } from './config.ts';
import { REDACT_CENSOR, redactLogged } from './logger.ts';

const cwd = '/srv/tracker';
/** A production environment that is complete apart from what a test leaves out or spoils. */
const KEK = generateKeyEncryptionKey();

function problemsOf(env: NodeJS.ProcessEnv): ConfigProblem[] {
  try {
    loadConfig(env, { cwd });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

function errorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env, { cwd });
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  it('gives the documented defaults for an empty environment', () => {
    expect(loadConfig({}, { cwd })).toEqual({
      port: 4000,
      host: '127.0.0.1',
      dataDir: path.resolve(cwd, 'data'),
      unitsFile: undefined,
      policiesFile: undefined,
      demo: true,
      demoCitizens: 300,
      nodeEnv: 'development',
      logLevel: 'info',
      bodyLimitBytes: 1048576,
      maxEventsPerRequest: 1000,
      auth: { mode: 'development', oidcIssuer: undefined, oidcAudience: undefined, oidcJwksUri: undefined, settings: { mode: 'development' } },
      personalData: { developmentKeyFile: path.resolve(cwd, 'data', 'personal-data-kek.development') },
      rateLimitPerMinute: 0,
      persistedOperationsFile: undefined,
      persistedOperationsOnly: false,
    });
  });

  it('treats blank variables as unset and ignores unrelated ones', () => {
    const config = loadConfig({ PORT: '', HOST: '  ', DEMO: '', SOMETHING_ELSE: 'x' }, { cwd });
    expect(config.port).toBe(4000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.demo).toBe(true);
  });

  it('resolves DATA_DIR against the working directory by default', () => {
    expect(path.isAbsolute(loadConfig({}).dataDir)).toBe(true);
  });
});

describe('loadConfig accepts good values', () => {
  it('reads every variable', () => {
    const config = loadConfig(
      {
        PORT: '0',
        HOST: '0.0.0.0',
        DATA_DIR: 'var/tracker',
        UNITS_FILE: 'conf/units.json',
        POLICIES_FILE: '/etc/tracker/policies.json',
        DEMO: 'off',
        DEMO_CITIZENS: '200000',
        AUTH_MODE: 'development',
        OIDC_ISSUER: 'https://login.example.dk/realms/kommune',
        OIDC_AUDIENCE: 'transition-tracker',
        OIDC_JWKS_URI: 'https://login.example.dk/realms/kommune/certs',
        NODE_ENV: 'test',
        LOG_LEVEL: 'WARN',
        BODY_LIMIT_BYTES: '2097152',
        MAX_EVENTS_PER_REQUEST: '50',
        PERSONAL_DATA_KEK: KEK,
        RATE_LIMIT_PER_MINUTE: '0',
        PERSISTED_OPERATIONS_FILE: 'conf/operations.json',
        PERSISTED_OPERATIONS_ONLY: 'on',
      },
      { cwd },
    );
    expect(config).toEqual({
      port: 0,
      host: '0.0.0.0',
      dataDir: '/srv/tracker/var/tracker',
      unitsFile: '/srv/tracker/conf/units.json',
      policiesFile: '/etc/tracker/policies.json',
      demo: false,
      demoCitizens: 200000,
      nodeEnv: 'test',
      logLevel: 'warn',
      bodyLimitBytes: 2097152,
      maxEventsPerRequest: 50,
      auth: {
        mode: 'development',
        oidcIssuer: 'https://login.example.dk/realms/kommune',
        oidcAudience: 'transition-tracker',
        oidcJwksUri: 'https://login.example.dk/realms/kommune/certs',
        settings: { mode: 'development' },
      },
      personalData: { kek: { id: expect.stringMatching(/^[0-9a-f]{16}$/), key: expect.anything() } },
      rateLimitPerMinute: 0,
      persistedOperationsFile: '/srv/tracker/conf/operations.json',
      persistedOperationsOnly: true,
    });
  });

  it('reads the OIDC settings with AUTH_MODE=oidc, and keeps the KEK only as a key object', () => {
    const config = loadConfig(
      {
        NODE_ENV: 'production',
        AUTH_MODE: 'oidc',
        OIDC_ISSUER: 'https://login.example.dk/realms/kommune',
        OIDC_AUDIENCE: 'transition-tracker',
        OIDC_ROLES_CLAIM: 'realm_access.roles',
        OIDC_CLOCK_TOLERANCE_SECONDS: '30',
        PERSONAL_DATA_KEK: KEK,
      },
      { cwd },
    );
    expect(config.auth.settings).toMatchObject({
      mode: 'oidc',
      issuer: 'https://login.example.dk/realms/kommune',
      audience: 'transition-tracker',
      claims: { roles: 'realm_access.roles', units: 'units', sources: 'sources' },
      clockToleranceSeconds: 30,
    });
    expect(JSON.stringify(config)).not.toContain(KEK);
    expect(config.rateLimitPerMinute).toBe(600);
  });

  it('reads PERSONAL_DATA_KEK_PREVIOUS during a key rotation, as a key object beside PERSONAL_DATA_KEK', () => {
    const previous = generateKeyEncryptionKey();
    const config = loadConfig({ PERSONAL_DATA_KEK: KEK, PERSONAL_DATA_KEK_PREVIOUS: previous }, { cwd });
    expect(config.personalData).toEqual({
      kek: { id: expect.stringMatching(/^[0-9a-f]{16}$/), key: expect.anything() },
      previousKek: { id: expect.stringMatching(/^[0-9a-f]{16}$/), key: expect.anything() },
    });
    const keys = config.personalData as { kek: { id: string }; previousKek: { id: string } };
    expect(keys.previousKek.id).not.toBe(keys.kek.id);
    expect(JSON.stringify(config)).not.toContain(previous);
    // Unset or blank: no rotation under way.
    expect(loadConfig({ PERSONAL_DATA_KEK: KEK, PERSONAL_DATA_KEK_PREVIOUS: '  ' }, { cwd }).personalData).toMatchObject({ previousKek: undefined });
  });

  it('the logger redacts the field the keys are kept in', () => {
    const config = loadConfig({ PERSONAL_DATA_KEK: KEK, PERSONAL_DATA_KEK_PREVIOUS: generateKeyEncryptionKey() }, { cwd });
    expect((redactLogged({ config }) as { config: TrackerConfig }).config.personalData).toBe(REDACT_CENSOR);
  });

  it.each([
    ['on', true],
    ['ON', true],
    ['true', true],
    ['True', true],
    ['1', true],
    ['off', false],
    ['Off', false],
    ['false', false],
    ['FALSE', false],
    ['0', false],
  ])('DEMO=%s → %s', (value, expected) => {
    expect(loadConfig({ DEMO: value }, { cwd }).demo).toBe(expected);
  });

  it.each(['localhost', '::', '[::1]', '10.0.0.7', 'tracker.internal.kommune.dk'])('HOST=%s is accepted', (host) => {
    expect(loadConfig({ HOST: host }, { cwd }).host).toBe(host.replace(/^\[|\]$/g, ''));
  });

  it('accepts the boundaries of PORT and DEMO_CITIZENS', () => {
    expect(loadConfig({ PORT: '65535', DEMO_CITIZENS: '0' }, { cwd })).toMatchObject({ port: 65535, demoCitizens: 0 });
  });
});

describe('loadConfig refuses bad values with the variable and the reason', () => {
  it.each([
    ['PORT', '-1', 'must be a whole number from 0 to 65535'],
    ['PORT', '65536', 'must be a whole number from 0 to 65535'],
    ['PORT', '80.5', 'must be a whole number from 0 to 65535'],
    ['PORT', 'http', 'must be a whole number from 0 to 65535'],
    ['PORT', '1e3', 'must be a whole number from 0 to 65535'],
    ['HOST', 'not a host', 'must be a host name or an IP address'],
    ['HOST', 'http://example.dk', 'must be a host name or an IP address'],
    ['DATA_DIR', 'da\0ta', 'must be a folder path'],
    ['UNITS_FILE', 'units\0.json', 'must be a file path'],
    ['POLICIES_FILE', 'p\0.json', 'must be a file path'],
    ['DEMO', 'maybe', 'must be on or off'],
    ['DEMO', 'yes please', 'must be on or off'],
    ['DEMO_CITIZENS', '200001', 'must be a whole number from 0 to 200000'],
    ['DEMO_CITIZENS', 'many', 'must be a whole number from 0 to 200000'],
    ['DEMO_CITIZENS', '-5', 'must be a whole number from 0 to 200000'],
    ['AUTH_MODE', 'none', 'must be one of: oidc, development'],
    ['OIDC_CLOCK_TOLERANCE_SECONDS', 'soon', 'must be a whole number of seconds'],
    ['PERSONAL_DATA_KEK', 'not-a-key', 'must decode to exactly 32 bytes'],
    ['PERSONAL_DATA_KEK', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'is a placeholder'],
    ['PERSONAL_DATA_KEK_PREVIOUS', 'not-a-key', 'must decode to exactly 32 bytes'],
    ['PERSONAL_DATA_KEK_PREVIOUS', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'is a placeholder'],
    ['PERSONAL_DATA_KEK_PREVIOUS', 'not base64!', 'must be base64'],
    ['PERSISTED_OPERATIONS_ONLY', 'maybe', 'must be on or off'],
    ['PERSISTED_OPERATIONS_ONLY', 'on', 'needs PERSISTED_OPERATIONS_FILE'],
    ['RATE_LIMIT_PER_MINUTE', 'lots', 'must be a whole number from 0 to 1000000'],
    ['OIDC_ISSUER', 'login.example.dk', 'must be an absolute http(s) URL'],
    ['OIDC_ISSUER', 'ftp://login.example.dk', 'must be an absolute http(s) URL'],
    ['OIDC_ISSUER', 'https://admin:hunter2@login.example.dk', 'must not contain credentials'],
    ['OIDC_AUDIENCE', 'two words', 'must be 1–256 characters without spaces'],
    ['OIDC_AUDIENCE', 'a'.repeat(257), 'must be 1–256 characters without spaces'],
    ['OIDC_JWKS_URI', 'certs.json', 'must be an absolute http(s) URL'],
    ['NODE_ENV', 'staging', 'must be one of: development, test, production'],
    ['LOG_LEVEL', 'verbose', 'must be one of: fatal, error, warn, info, debug, trace, silent'],
    ['BODY_LIMIT_BYTES', '1mb', 'must be a whole number from 1024 to 104857600'],
    ['BODY_LIMIT_BYTES', '100', 'must be a whole number from 1024 to 104857600'],
    ['BODY_LIMIT_BYTES', '104857601', 'must be a whole number from 1024 to 104857600'],
    ['MAX_EVENTS_PER_REQUEST', '0', 'must be a whole number from 1 to 100000'],
    ['MAX_EVENTS_PER_REQUEST', 'lots', 'must be a whole number from 1 to 100000'],
  ])('%s=%j', (variable, value, reason) => {
    // The OIDC claim settings are read in oidc mode only; the previous KEK only beside the current one.
    const base = variable.startsWith('OIDC_CLOCK')
      ? { AUTH_MODE: 'oidc', OIDC_ISSUER: 'https://idp.example.dk', OIDC_AUDIENCE: 'tracker' }
      : variable === 'PERSONAL_DATA_KEK_PREVIOUS'
        ? { PERSONAL_DATA_KEK: KEK }
        : {};
    const error = errorOf({ ...base, [variable]: value });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]!.variable).toBe(variable);
    expect(error.problems[0]!.message).toContain(reason);
    expect(error.message).toContain(`${variable}: `);
    expect(error.message).toContain(reason);
    // the value is never echoed (it may be a secret or something pasted by mistake); a known
    // mode named by the reason itself (oidc) is not an echo
    if (value.length > 3 && !reason.includes(value)) expect(error.message).not.toContain(value);
  });

  it('refuses development authentication in production', () => {
    const problems = problemsOf({ NODE_ENV: 'production', AUTH_MODE: 'development', PERSONAL_DATA_KEK: KEK });
    expect(problems).toEqual([{ variable: 'AUTH_MODE', message: expect.stringContaining('development is refused when NODE_ENV=production') }]);
  });

  it('refuses production without AUTH_MODE rather than defaulting to development', () => {
    const problems = problemsOf({ NODE_ENV: 'PRODUCTION', PERSONAL_DATA_KEK: KEK });
    expect(problems).toEqual([{ variable: 'AUTH_MODE', message: expect.stringContaining('must be set when NODE_ENV=production') }]);
  });

  it('oidc needs the issuer and the audience', () => {
    expect(problemsOf({ AUTH_MODE: 'oidc' })).toEqual([
      { variable: 'OIDC_ISSUER', message: 'is required with AUTH_MODE=oidc' },
      { variable: 'OIDC_AUDIENCE', message: 'is required with AUTH_MODE=oidc' },
    ]);
    expect(problemsOf({ AUTH_MODE: 'oidc', OIDC_ISSUER: 'http://idp.example.dk', OIDC_AUDIENCE: 'tracker' })).toEqual([
      { variable: 'OIDC_ISSUER', message: expect.stringContaining('must use https') },
    ]);
  });

  it('production needs PERSONAL_DATA_KEK: the development key file is refused there', () => {
    const problems = problemsOf({ NODE_ENV: 'production', AUTH_MODE: 'oidc', OIDC_ISSUER: 'https://idp.example.dk', OIDC_AUDIENCE: 'tracker' });
    expect(problems).toEqual([{ variable: 'PERSONAL_DATA_KEK', message: expect.stringContaining('is required with NODE_ENV=production') }]);
  });

  it('lists every bad variable at once, in a stable order, without echoing any value', () => {
    const secret = 'https://svc:s3cr3t-passw0rd@idp.example.dk';
    const error = errorOf({
      MAX_EVENTS_PER_REQUEST: 'x',
      PORT: 'eighty',
      DEMO: 'sometimes',
      OIDC_ISSUER: secret,
      NODE_ENV: 'production',
      AUTH_MODE: 'development',
    });
    expect(error.problems.map((p) => p.variable)).toEqual(['PORT', 'DEMO', 'AUTH_MODE', 'OIDC_ISSUER', 'PERSONAL_DATA_KEK', 'MAX_EVENTS_PER_REQUEST']);
    expect(error.name).toBe('ConfigError');
    expect(error.message.split('\n')).toHaveLength(7);
    for (const value of [secret, 's3cr3t', 'eighty', 'sometimes']) expect(error.message).not.toContain(value);
  });

  it('PERSONAL_DATA_KEK_PREVIOUS must differ from PERSONAL_DATA_KEK and needs it, never echoing either', () => {
    for (const previous of [KEK, ` ${KEK}\n`]) {
      const error = errorOf({ PERSONAL_DATA_KEK: KEK, PERSONAL_DATA_KEK_PREVIOUS: previous });
      expect(error.problems).toEqual([{ variable: 'PERSONAL_DATA_KEK_PREVIOUS', message: 'must differ from PERSONAL_DATA_KEK: it is the key being rotated away from' }]);
      expect(error.message).not.toContain(KEK);
    }
    // The same 32 bytes spelled in url-safe base64 are the same key.
    const urlSafe = Buffer.from(KEK, 'base64').toString('base64url');
    expect(problemsOf({ PERSONAL_DATA_KEK: KEK, PERSONAL_DATA_KEK_PREVIOUS: urlSafe }).map((p) => p.variable)).toEqual(['PERSONAL_DATA_KEK_PREVIOUS']);
    expect(problemsOf({ PERSONAL_DATA_KEK_PREVIOUS: KEK })).toEqual([{ variable: 'PERSONAL_DATA_KEK_PREVIOUS', message: expect.stringContaining('needs PERSONAL_DATA_KEK') }]);
    // Both bad: both named.
    expect(problemsOf({ PERSONAL_DATA_KEK: 'short', PERSONAL_DATA_KEK_PREVIOUS: 'short' }).map((p) => p.variable)).toEqual([
      'PERSONAL_DATA_KEK',
      'PERSONAL_DATA_KEK_PREVIOUS',
    ]);
  });

  it('still checks AUTH_MODE when NODE_ENV itself is bad', () => {
    const problems = problemsOf({ NODE_ENV: 'prod', AUTH_MODE: 'kerberos', PERSONAL_DATA_KEK: KEK });
    expect(problems.map((p) => p.variable)).toEqual(['AUTH_MODE', 'NODE_ENV']);
  });
});
