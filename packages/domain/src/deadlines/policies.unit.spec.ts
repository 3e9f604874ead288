import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigFileError } from '../units/units.ts';
import { DEFAULT_POLICIES_FILE, loadPolicies, parsePolicies } from './policies.ts';

/** "line L, column C" of the first occurrence of `needle` (a quoted key) in the text. */
const at = (text: string, needle: string, after = ''): string => {
  const lines = text.split('\n');
  const start = after ? lines.findIndex((l) => l.includes(after)) : 0;
  const index = lines.findIndex((l, i) => i >= start && l.includes(needle));
  return `line ${index + 1}, column ${lines[index]!.indexOf(needle) + 1}`;
};

const problemsOf = (text: string): string[] => {
  try {
    parsePolicies(text, 'policies.json');
  } catch (error) {
    if (error instanceof ConfigFileError) return error.problems;
    throw error;
  }
  throw new Error('the file was accepted');
};

/** A kommune file with one policy, laid out one field per line so errors have distinct lines. */
const kommuneFile = (policy: Record<string, unknown>, extra: Record<string, unknown> = {}) => JSON.stringify({ ...extra, policies: [policy] }, null, 2);

const sel108 = {
  id: 'sel-108-botilbud',
  title: 'Afgørelse om længerevarende botilbud',
  basis: 'Serviceloven § 108; Retssikkerhedsloven § 3',
  start: { event: 'CaseOpened', where: { legalBasis: 'SEL § 108' } },
  stop: { event: 'DecisionMade', where: { subject: 'botilbud' } },
  limit: { amount: 90, unit: 'workingDays' },
};

describe('deadline policies', () => {
  it('ships the eight default policies of domain.md §5', () => {
    const policies = loadPolicies(undefined);
    expect(policies.ids).toEqual([
      'underretning-24h',
      'underretning-kvittering',
      'bfu-4-maaneder',
      'ungeplan-16',
      'ungestoette-17-5',
      'overgang-handicap',
      'overdragelse-accept',
      'paarorende-svar',
    ]);
    expect(policies.get('underretning-24h')).toMatchObject({ limit: { kind: 'duration', amount: 24, unit: 'hours' }, atRiskThreshold: 0.75, latenessUnit: 'hours' });
    expect(policies.get('overdragelse-accept')?.start).toMatchObject({ kind: 'event', key: 'handoverId', unitField: 'toUnitId' });
    expect(policies.get('overdragelse-accept')?.stops.map((s) => [s.event, s.key])).toEqual([
      ['HandoverAccepted', 'handoverId'],
      ['HandoverRejected', 'handoverId'],
      ['HandoverCancelled', 'handoverId'],
      ['HandoverCompleted', 'handoverId'],
    ]);
    expect(policies.get('ungestoette-17-5')).toMatchObject({
      start: { kind: 'age', age: { years: 17, months: 0 }, conditionAt: { years: 17, months: 6 } },
      limit: { kind: 'age', age: { years: 17, months: 6 } },
      latenessUnit: 'days',
    });
    expect(policies.closedDays).toEqual(['06-05', '12-24', '12-31']);
    // As a POLICIES_FILE of its own, the shipped file gives the same policies.
    expect(loadPolicies(DEFAULT_POLICIES_FILE).fingerprint).toBe(policies.fingerprint);
  });

  it('adds a kommune policy by configuration alone, keeping the defaults', () => {
    const policies = parsePolicies(kommuneFile(sel108), 'gentofte.json');
    expect(policies.ids).toHaveLength(9);
    expect(policies.get('sel-108-botilbud')).toMatchObject({
      title: 'Afgørelse om længerevarende botilbud',
      start: { kind: 'event', event: 'CaseOpened', where: { legalBasis: 'SEL § 108' }, key: undefined, unitField: 'unitId' },
      stops: [{ event: 'DecisionMade', where: { subject: 'botilbud' }, key: undefined }],
      limit: { kind: 'duration', amount: 90, unit: 'workingDays' },
      latenessUnit: 'workingDays',
    });
    expect(policies.fingerprint).not.toBe(loadPolicies(undefined).fingerprint);
  });

  it('overrides a default by id, disables defaults, or replaces them all', () => {
    const longer = parsePolicies(kommuneFile({ ...sel108, id: 'paarorende-svar', start: { event: 'ContactReceived', where: { from: 'relative' }, key: 'contactId' }, stop: { event: 'ContactAnswered' }, limit: { amount: 5, unit: 'workingDays' } }), 'k.json');
    expect(longer.get('paarorende-svar')?.limit).toEqual({ kind: 'duration', amount: 5, unit: 'workingDays' });
    expect(longer.ids).toHaveLength(8);

    const fewer = parsePolicies(JSON.stringify({ disable: ['underretning-kvittering'], policies: [] }), 'k.json');
    expect(fewer.has('underretning-kvittering')).toBe(false);
    expect(fewer.ids).toHaveLength(7);

    const only = parsePolicies(kommuneFile(sel108, { extendsDefaults: false }), 'k.json');
    expect(only.ids).toEqual(['sel-108-botilbud']);
  });

  it('takes the threshold and closed days from the kommune file', () => {
    const policies = parsePolicies(kommuneFile({ ...sel108, atRiskThreshold: 0.5 }, { atRiskThreshold: 0.8, closedDays: ['2025-05-30'] }), 'k.json');
    expect(policies.get('sel-108-botilbud')?.atRiskThreshold).toBe(0.5);
    expect(policies.get('underretning-24h')?.atRiskThreshold).toBe(0.8);
    expect(policies.closedDays).toEqual(['2025-05-30']);
    expect(policies.calendar.isWorkingDay('2025-05-30')).toBe(false);
    expect(policies.calendar.isWorkingDay('2025-12-24')).toBe(true);
  });

  describe('a bad file fails with the line and the reason', () => {
    it('names the line of a bad value', () => {
      const text = kommuneFile({ ...sel108, limit: { amount: 90, unit: 'hverdage' } });
      expect(problemsOf(text)).toEqual([`${at(text, '"unit"')} (policies.0.limit.unit): must be one of hours, workingDays (hverdage), days, weeks, months`]);
    });

    it('names unknown event types, fields and impossible values against the event catalog', () => {
      const text = kommuneFile({
        ...sel108,
        start: { event: 'CaseOpend', where: { legalBasis: 'SEL § 108' } },
        stop: [{ event: 'DecisionMade', where: { subjekt: 'botilbud' } }, { event: 'DecisionMade', where: { outcome: 'maybe' } }],
      });
      const lines = text.split('\n');
      const lineOf = (s: string) => lines.findIndex((l) => l.includes(s)) + 1;
      const problems = problemsOf(text);
      expect(problems).toHaveLength(1); // the start's event type fails first: the rest is checked once it parses
      expect(problems[0]).toMatch(new RegExp(`^line ${lineOf('"CaseOpend"')}, column \\d+ \\(policies\\.0\\.start\\.event\\): must be an event type of the catalog`));

      const second = kommuneFile({ ...sel108, stop: [{ event: 'DecisionMade', where: { subjekt: 'botilbud' } }, { event: 'DecisionMade', where: { outcome: 'maybe' } }] });
      expect(problemsOf(second)).toEqual([
        `${at(second, '"subjekt"')} (policies.0.stop.0.where.subjekt): DecisionMade has no field "subjekt"; its fields are decisionId, unitId, subject, outcome, legalBasis`,
        `${at(second, '"outcome"')} (policies.0.stop.1.where.outcome): is not a possible value of DecisionMade.outcome`,
      ]);
    });

    it('names missing and unknown fields', () => {
      const { limit: _limit, ...withoutLimit } = sel108;
      const text = kommuneFile({ ...withoutLimit, deadline: 3 });
      // A missing field is located at the object that lacks it; an unknown one at its key.
      expect(problemsOf(text)).toEqual([`${at(text, '{', '"policies"')} (policies.0.limit): is required`, `${at(text, '"deadline"')} (policies.0): unknown field "deadline"`]);
    });

    it('refuses keys that cannot correlate, due ages on event starts and bad ages', () => {
      const problems = problemsOf(
        JSON.stringify(
          {
            policies: [
              { ...sel108, id: 'a', stop: { event: 'DecisionMade', key: 'decisionId' } },
              { ...sel108, id: 'b', start: { event: 'HandoverInitiated', key: 'handoverId' }, stop: { event: 'DecisionMade' } },
              { ...sel108, id: 'c', limit: { age: { years: 18 } } },
              { ...sel108, id: 'd', start: { age: { years: 18 } }, limit: { age: { years: 17, months: 6 } } },
              { ...sel108, id: 'e', start: { age: { years: 16 }, when: { openCase: {}, disability: true } } },
              { ...sel108, id: 'f', limit: { amount: 1.5, unit: 'months' } },
            ],
          },
          null,
          2,
        ),
      );
      expect(problems.map((p) => p.replace(/^line \d+, column \d+ /, '')).sort()).toEqual([
        '(policies.0.stop.key): the start has no key to correlate with; give start.key too',
        '(policies.1.stop): DecisionMade has no field "handoverId" to match the start\'s key; name its correlation field with "key"',
        '(policies.2.limit.age): a due age needs an age-triggered start; give a duration { "amount", "unit" }',
        '(policies.3.limit.age): must be after the start age',
        '(policies.4.start.when): must have exactly one of openCase, activeIntervention, disability, anyOf, allOf',
        '(policies.5.limit.amount): must be a whole number of months',
      ]);
    });

    it('names duplicate ids, bad closed days, thresholds and unknown disabled ids', () => {
      const text = JSON.stringify({ atRiskThreshold: 1.5, closedDays: ['24-12'], disable: ['no-such-policy'], policies: [sel108, sel108] }, null, 2);
      const problems = problemsOf(text).map((p) => p.replace(/^line \d+, column \d+ /, ''));
      // Every problem at once, so the file is fixed in one round.
      expect(problems).toEqual([
        '(atRiskThreshold): must be at most 1 (a share of the time, e.g. 0.75)',
        "(closedDays.0): must be 'MM-DD' (every year) or 'YYYY-MM-DD' (one date)",
        '(policies.1.id): duplicates policies.0.id',
      ]);
      const unknownDisable = problemsOf(JSON.stringify({ disable: ['no-such-policy'], policies: [] }, null, 2));
      expect(unknownDisable).toHaveLength(1);
      expect(unknownDisable[0]).toMatch(/^line 3, column 5 \(disable\.0\): is not a shipped policy \(underretning-24h, /);
    });

    it('reports invalid JSON with its line', () => {
      expect(problemsOf('{\n  "policies": [\n    { "id": "x", }\n  ]\n}')).toEqual([`line 3, column 18: not valid JSON: expected a property name in double quotes, found "}"`]);
    });

    it('names an unreadable file', () => {
      const dir = mkdtempSync(join(tmpdir(), 'policies-'));
      afterAll(() => rmSync(dir, { recursive: true, force: true }));
      expect(() => loadPolicies(join(dir, 'missing.json'))).toThrow(/cannot be read: ENOENT/);
      const file = join(dir, 'bad.json');
      writeFileSync(file, '{"policies": [ {"id": "X"} ]}');
      expect(() => loadPolicies(file)).toThrow(ConfigFileError);
      try {
        loadPolicies(file);
      } catch (error) {
        expect((error as ConfigFileError).message).toContain(`${file} is not a valid configuration file:`);
        expect((error as ConfigFileError).problems[0]).toMatch(/^line 1, column 17 \(policies\.0\.id\): must be 1–64 lower-case/);
      }
    });
  });
});

describe('DeadlinePolicySet.dueFunction', () => {
  it("uses the policy's limit, and the given service level when the kommune disabled the policy", () => {
    const start = Date.parse('2025-04-10T10:00:00+02:00'); // Thursday before Easter
    const defaults = parsePolicies('{ "policies": [] }', 'kommune.json');
    expect(new Date(defaults.dueFunction('overdragelse-accept', { amount: 1, unit: 'hours' })(start)).toISOString()).toBe('2025-04-29T22:00:00.000Z');
    const disabled = parsePolicies(JSON.stringify({ policies: [], disable: ['overdragelse-accept'] }), 'kommune.json');
    expect(disabled.dueFunction('overdragelse-accept', { amount: 1, unit: 'hours' })(start)).toBe(start + 3_600_000);
  });
});
