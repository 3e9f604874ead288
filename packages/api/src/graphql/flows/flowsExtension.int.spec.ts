/**
 * The flow queries through /graphql on real adapters (event store → projector → SQLite read models
 * with the flow derivation): the contracted FlowEdge, the default period, the manager views' small
 * cells, and arguments refused with the argument named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowDerivation, sqliteFlowQueries } from '@tracker/read-models';
import { ADULT, CHILD, CPR, YOUTH, fact, startHarness, units, type Harness } from '../testing/harness.ts';
import { flowsExtension } from './flowsExtension.ts';

const EDGE_FIELDS = 'fromUnitId toUnitId count accepted rejected pending cancelled medianDaysToAccept p90DaysToAccept lost';
const MEASURES = 'citizens count accepted rejected pending cancelled medianDaysToAccept p90DaysToAccept lost suppressed';

describe('GraphQL flows', () => {
  let h: Harness;
  beforeAll(async () => {
    // The adapter takes the read models' database on first use: the harness opens them after this.
    const flows = sqliteFlowQueries({ get database() { return h.readModel.database; } }, { units });
    h = await startHarness({ derived: [createFlowDerivation(units)], extensions: [flowsExtension({ flows })] });

    // Six youths handed to the adult unit (the clock stands at 2025-03-03 10:00): five accepted after
    // 1…5 days, one left pending while the youth case closed on 2025-01-10 with nobody taking over.
    const events = [];
    for (let i = 1; i <= 6; i++) {
      const c = `c-flow-${i}`;
      events.push(
        fact(c, 'CitizenRegistered', '2015-01-01T09:00:00+01:00', { birthDate: '2007-06-01', municipality: '0751', disability: false }),
        fact(c, 'CaseOpened', '2022-01-03T10:00:00+01:00', { caseId: 'k', unitId: YOUTH }),
        fact(c, 'HandoverInitiated', '2025-01-06T10:00:00+01:00', { handoverId: 'h', fromUnitId: YOUTH, toUnitId: ADULT, kind: 'age' }),
        i <= 5
          ? fact(c, 'HandoverAccepted', `2025-01-${String(6 + i).padStart(2, '0')}T10:00:00+01:00`, { handoverId: 'h' })
          : fact(c, 'CaseClosed', '2025-01-10T10:00:00+01:00', { caseId: 'k', reason: 'handover' }),
      );
    }
    // Two children handed to the youth unit: a cell too small for managers.
    for (let i = 1; i <= 2; i++) {
      const c = `c-child-${i}`;
      events.push(
        fact(c, 'CitizenRegistered', '2015-01-01T09:00:00+01:00', { birthDate: '2011-01-01', municipality: '0751', disability: false }),
        fact(c, 'CaseOpened', '2020-01-01T10:00:00+01:00', { caseId: 'k', unitId: CHILD }),
        fact(c, 'HandoverInitiated', '2025-02-03T10:00:00+01:00', { handoverId: 'h', fromUnitId: CHILD, toUnitId: YOUTH, kind: 'age' }),
      );
    }
    await h.append(events);
  });
  afterAll(async () => h?.close());

  it('answers flows(from, to) with the contracted FlowEdge, exact', async () => {
    const { json } = await h.gql(`query ($from: DateTime, $to: DateTime) { flows(from: $from, to: $to) { ${EDGE_FIELDS} } }`, {
      from: '2025-01-01T00:00:00+01:00',
      to: '2025-03-01T00:00:00+01:00',
    });
    expect(json.errors).toBeUndefined();
    expect(json.data?.flows).toEqual([
      { fromUnitId: CHILD, toUnitId: YOUTH, count: 2, accepted: 0, rejected: 0, pending: 2, cancelled: 0, medianDaysToAccept: null, p90DaysToAccept: null, lost: 0 },
      // Lost: no case anywhere from 10 January; 30 days had passed by 1 March.
      { fromUnitId: YOUTH, toUnitId: ADULT, count: 6, accepted: 5, rejected: 0, pending: 1, cancelled: 0, medianDaysToAccept: 3, p90DaysToAccept: 4.6, lost: 1 },
    ]);
  });

  it('defaults to the twelve months before now, and judges a period that has not ended at now', async () => {
    const defaults = await h.gql(`{ flows { fromUnitId count lost } }`);
    expect(defaults.json.data?.flows).toEqual([
      { fromUnitId: CHILD, count: 2, lost: 0 },
      { fromUnitId: YOUTH, count: 6, lost: 1 },
    ]);
    // Ending in a year: the children's handovers stay pending and nobody is judged lost ahead of time.
    const future = await h.gql(`{ flows(from: "2025-01-01T00:00:00+01:00", to: "2026-01-01T00:00:00+01:00") { fromUnitId pending lost } }`);
    expect(future.json.data?.flows).toEqual([
      { fromUnitId: CHILD, pending: 2, lost: 0 },
      { fromUnitId: YOUTH, pending: 1, lost: 1 },
    ]);
    const early = await h.gql(`{ flows(from: "2025-01-01T00:00:00+01:00", to: "2025-02-09T10:00:00+01:00") { fromUnitId lost } }`);
    // Exactly 30 days without coverage at the end of the period: not lost yet.
    expect(early.json.data?.flows).toEqual([
      { fromUnitId: CHILD, lost: 0 },
      { fromUnitId: YOUTH, lost: 0 },
    ]);
  });

  it('rolls up by sector for managers, withholding cells of fewer than 5 citizens', async () => {
    const { json } = await h.gql(`{ flowsBySector(from: "2025-01-01T00:00:00+01:00", to: "2025-03-01T00:00:00+01:00") { fromSector toSector ${MEASURES} } }`);
    expect(json.errors).toBeUndefined();
    expect(json.data?.flowsBySector).toEqual([
      { fromSector: 'child', toSector: 'youth', citizens: null, count: null, accepted: null, rejected: null, pending: null, cancelled: null, medianDaysToAccept: null, p90DaysToAccept: null, lost: null, suppressed: true },
      // pending (1 citizen) and lost (1) withheld; rejected (0) withheld too so pending cannot be had by subtraction.
      { fromSector: 'youth', toSector: 'adult', citizens: 6, count: 6, accepted: 5, rejected: null, pending: null, cancelled: 0, medianDaysToAccept: 3, p90DaysToAccept: 4.6, lost: null, suppressed: true },
    ]);
  });

  it('breaks flows down by cohort: age band at the transition and kommune', async () => {
    const { json } = await h.gql(
      `{ flowCohorts(from: "2025-01-01T00:00:00+01:00", to: "2025-03-01T00:00:00+01:00", toSector: "adult") { fromSector toSector ageBand municipality ${MEASURES} } }`,
    );
    expect(json.errors).toBeUndefined();
    expect(json.data?.flowCohorts).toEqual([
      { fromSector: 'youth', toSector: 'adult', ageBand: 'AGE_15_17', municipality: '0751', citizens: 6, count: 6, accepted: 5, rejected: null, pending: null, cancelled: 0, medianDaysToAccept: 3, p90DaysToAccept: 4.6, lost: null, suppressed: true },
    ]);
  });

  it('refuses a period that ends before it starts, and unknown sectors, naming the argument and not the value', async () => {
    const backwards = await h.gql(`{ flows(from: "2025-03-01T00:00:00+01:00", to: "2025-01-01T00:00:00+01:00") { count } }`);
    expect(backwards.json.errors?.[0]).toMatchObject({ message: 'Invalid from: must be earlier than to', extensions: { code: 'BAD_USER_INPUT', field: 'from' } });
    const sector = await h.gql(`query ($s: String) { flowCohorts(fromSector: $s) { count } }`, { s: CPR });
    expect(sector.json.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'fromSector' });
    expect(sector.body).not.toContain(CPR);
    const noOffset = await h.gql(`{ flowsBySector(to: "2025-01-01T00:00:00") { count } }`);
    expect(noOffset.json.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to' });
  });
});
