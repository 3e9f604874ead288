import { epochDayFromCivil } from '@tracker/domain';
import { describe, expect, it } from 'vitest';
import { Random } from './random.ts';
import { formatInstant, instantOf, minuteOfDay } from './time.ts';

const at = (iso: string): number => Date.parse(iso);

describe('generator instants', () => {
  it.each([
    ['2025-03-30T00:59:00Z', '2025-03-30T01:59:00+01:00'], // last minute of winter time
    ['2025-03-30T01:00:00Z', '2025-03-30T03:00:00+02:00'], // summer time starts: 02:00 → 03:00
    ['2025-10-26T00:59:00Z', '2025-10-26T02:59:00+02:00'],
    ['2025-10-26T01:00:00Z', '2025-10-26T02:00:00+01:00'], // summer time ends: 03:00 → 02:00
    ['2024-12-31T23:30:45Z', '2025-01-01T00:30:45+01:00'], // local new year
    ['1995-09-24T01:00:00Z', '1995-09-24T02:00:00+01:00'], // before 1996 summer time ended in September
  ])('formats %s as %s', (utc, local) => {
    expect(formatInstant(at(utc))).toBe(local);
  });

  it('formats like the IANA zone (Intl) and parses back to the same second', () => {
    const fmt = new Intl.DateTimeFormat('sv-SE', {
      timeZone: 'Europe/Copenhagen',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    const r = new Random(11);
    const from = at('1996-01-01T00:00:00Z');
    const to = at('2045-12-31T00:00:00Z');
    for (let i = 0; i < 2000; i++) {
      const ms = from + Math.floor(r.next() * (to - from));
      const text = formatInstant(ms);
      // sv-SE writes '2025-06-15 09:30:00 GMT+02:00'
      expect(fmt.format(ms).replace(' ', 'T').replace(' GMT', ''), new Date(ms).toISOString()).toBe(text);
      expect(Date.parse(text)).toBe(ms - (ms % 1000));
    }
  });

  it('maps a local day and minute to an instant and back', () => {
    const day = epochDayFromCivil(2025, 6, 15);
    const nineThirty = instantOf(day, 9 * 60 + 30);
    expect(formatInstant(nineThirty)).toBe('2025-06-15T09:30:00+02:00');
    expect(minuteOfDay(nineThirty)).toBe(570);
    expect(formatInstant(instantOf(epochDayFromCivil(2025, 1, 15), 0))).toBe('2025-01-15T00:00:00+01:00');
    // 02:30 does not exist on 30 March 2025: it lands an hour later
    expect(formatInstant(instantOf(epochDayFromCivil(2025, 3, 30), 150))).toBe('2025-03-30T03:30:00+02:00');
  });
});
