/**
 * The real embedded tracker with real authentication, for the security tests: a local OpenID
 * provider (@tracker/security/testing: real keys, discovery and JWKS over HTTP) and the tracker
 * started from an environment with AUTH_MODE=oidc pointing at it — the same path as production:
 * loadConfig → createAuthenticator → authPlugin → GraphQL/ingestion/exports.
 *
 * A small kommune is ingested through POST /v1/events as an administrator, so the data went through
 * the same encrypting store as everything else. Principals are tokens with the claims of each role.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ManualClock } from '@tracker/domain';
import { createLogger, loadConfig } from '@tracker/platform';
import { generateKeyEncryptionKey } from '@tracker/security';
import { startTestIssuer, type TestIssuer, type TokenOptions } from '@tracker/security/testing';
import { startTracker, type RunningTracker } from '../tracker.ts';

export const RECEPTION = '0751-modtagelse';
export const CHILD = '0751-bf-myndighed';
export const YOUTH = '0751-ungeenhed';
export const ADULT = '0751-voksen-handicap';

export const NOW = '2026-03-02T10:00:00+01:00';

/** Personal data of the first citizen: it must appear in no answer, log line or file (in the clear). */
export const NAME = 'Testborger Unikanavn Sikkerhedsen';
export const CPR = '070809-4321';
export const CPR_DIGITS = '0708094321';

/** Citizens handed from the child unit to the youth unit: FLOW_ACCEPTED accepted, the rest pending. */
export const FLOW_CITIZENS = 10;
export const FLOW_ACCEPTED = 5;
export const flowCitizen = (i: number) => `c-flow-${String(i).padStart(2, '0')}`;
export const ADULT_CITIZEN = 'c-adult-01';

export type Role = 'coordinator' | 'manager' | 'integrator' | 'administrator';

export interface SecuredTracker {
  tracker: RunningTracker;
  issuer: TestIssuer;
  clock: ManualClock;
  dataDir: string;
  /** Every log line the tracker wrote. */
  logs: string[];
  /** A token for a role (coordinator of the child unit, manager of the youth unit, integrator of dubu …), claims overridable. */
  token(role: Role, options?: TokenOptions): Promise<string>;
  gql(query: string, options?: { token?: string | null; variables?: Record<string, unknown>; headers?: Record<string, string> }): Promise<GqlAnswer>;
  /** POST /v1/events. */
  ingest(events: unknown[], token: string | null): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export interface GqlAnswer {
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read loosely shaped GraphQL answers
  data: any;
  errors: { message: string; extensions?: Record<string, unknown> }[] | undefined;
}

/** The claims each role's token carries by default. */
export const DEFAULT_CLAIMS: Record<Role, Record<string, unknown>> = {
  coordinator: { sub: 'coordinator-child', roles: ['coordinator'], units: [CHILD] },
  manager: { sub: 'manager-youth', roles: ['manager'], units: [YOUTH] },
  integrator: { sub: 'system-dubu', roles: ['integrator'], units: [], sources: ['dubu'] },
  administrator: { sub: 'administrator-1', roles: ['administrator'], units: [] },
};

const at = (date: string) => `${date}T09:00:00+01:00`;
const envelope = (citizenId: string, type: string, occurredAt: string, data: Record<string, unknown>, source = 'dubu') => ({
  id: randomUUID(),
  type,
  citizenId,
  occurredAt,
  source,
  data,
});

/** The small kommune every security test starts from. */
export function kommune(): unknown[] {
  const events: unknown[] = [];
  for (let i = 1; i <= FLOW_CITIZENS; i++) {
    const c = flowCitizen(i);
    events.push(
      envelope(c, 'CitizenRegistered', at('2025-01-02'), {
        birthDate: '2008-05-17',
        municipality: '0751',
        disability: false,
        ...(i === 1 ? { personal: { name: NAME, cpr: CPR } } : {}),
      }),
      envelope(c, 'CaseOpened', at('2025-01-03'), { caseId: `k-${i}`, unitId: CHILD }),
      envelope(c, 'HandoverInitiated', at('2025-06-02'), { handoverId: `h-${i}`, fromUnitId: CHILD, toUnitId: YOUTH, kind: 'age' }),
    );
    if (i <= FLOW_ACCEPTED) events.push(envelope(c, 'HandoverAccepted', at('2025-06-05'), { handoverId: `h-${i}` }));
  }
  events.push(
    envelope(ADULT_CITIZEN, 'CitizenRegistered', at('2025-01-02'), { birthDate: '1990-02-03', municipality: '0751', disability: true }),
    envelope(ADULT_CITIZEN, 'CaseOpened', at('2025-02-03'), { caseId: 'k-a', unitId: ADULT }),
    envelope(ADULT_CITIZEN, 'CaseClosed', at('2025-03-03'), { caseId: 'k-missing' }, 'nexus'),
  );
  return events;
}

export interface SecuredTrackerOptions {
  env?: Record<string, string>;
  /** Ingest the small kommune (default true). */
  data?: boolean;
}

export async function startSecuredTracker(options: SecuredTrackerOptions = {}): Promise<SecuredTracker> {
  const issuer = await startTestIssuer();
  const dataDir = mkdtempSync(join(tmpdir(), 'tracker-secured-'));
  const clock = new ManualClock(NOW);
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  });
  const config = loadConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    DEMO: 'off',
    AUTH_MODE: 'oidc',
    OIDC_ISSUER: issuer.issuer,
    OIDC_AUDIENCE: issuer.audience,
    PERSONAL_DATA_KEK: generateKeyEncryptionKey(),
    RATE_LIMIT_PER_MINUTE: '0',
    ...options.env,
  });
  let tracker: RunningTracker;
  try {
    tracker = await startTracker({ config, logger: createLogger({ destination, level: 'debug' }), clock });
  } catch (error) {
    await issuer.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }

  const token = (role: Role, tokenOptions: TokenOptions = {}) => issuer.token({ ...tokenOptions, claims: { ...DEFAULT_CLAIMS[role], ...tokenOptions.claims } });

  const gql: SecuredTracker['gql'] = async (query, { token: bearer, variables, headers = {} } = {}) => {
    const response = await fetch(`${tracker.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...headers },
      body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
    });
    const text = await response.text();
    const json = JSON.parse(text) as { data?: unknown; errors?: GqlAnswer['errors'] };
    return { status: response.status, text, data: json.data, errors: json.errors };
  };

  const ingest: SecuredTracker['ingest'] = async (events, bearer) => {
    const response = await fetch(`${tracker.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: JSON.stringify({ events }),
    });
    const answer = { status: response.status, body: (await response.json()) as Record<string, unknown> };
    if (response.status === 200) await tracker.projector.waitFor(await tracker.store.headPosition());
    return answer;
  };

  const secured: SecuredTracker = {
    tracker,
    issuer,
    clock,
    dataDir,
    logs,
    token,
    gql,
    ingest,
    async close() {
      await tracker.close();
      await issuer.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  if (options.data !== false) {
    const answer = await ingest(kommune(), await token('administrator'));
    if (answer.status !== 200) throw new Error(`the test kommune was not ingested: ${answer.status}`);
  }
  return secured;
}

/** Every file under a folder. */
export function filesUnder(folder: string): string[] {
  return readdirSync(folder).flatMap((entry) => {
    const path = join(folder, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The files of the folder holding the bytes. */
export function filesContaining(folder: string, needle: string | Buffer): string[] {
  const bytes = typeof needle === 'string' ? Buffer.from(needle) : needle;
  return filesUnder(folder).filter((file) => readFileSync(file).includes(bytes));
}

/** Reads an SSE response until `until` matches what arrived (or the stream ends / time runs out), then aborts it. */
export async function readEvents(response: Response, abort: AbortController, until: (text: string) => boolean, timeoutMs = 5_000): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + timeoutMs;
  try {
    while (!until(text) && Date.now() < deadline) {
      const next = await Promise.race([reader.read(), new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), Math.max(1, deadline - Date.now())))]);
      if (next === 'timeout' || next.done) break;
      text += decoder.decode(next.value, { stream: true });
    }
  } finally {
    abort.abort();
  }
  return text;
}

/** Opens a subscription over SSE. */
export async function subscribe(url: string, query: string, token: string | null, variables?: Record<string, unknown>): Promise<{ response: Response; abort: AbortController }> {
  const abort = new AbortController();
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    signal: abort.signal,
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
  });
  return { response, abort };
}
