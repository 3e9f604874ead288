import { describe, expect, it } from 'vitest';
import {
  addCopenhagenDays,
  addCopenhagenMonths,
  civilFromEpochDay,
  copenhagenDate,
  copenhagenInstant,
  copenhagenOffsetMs,
  copenhagenParts,
  endOfCopenhagenDay,
  epochDayFromCivil,
  epochDayOfDate,
  formatEpochDay,
  hoursInCopenhagenDate,
  isoWeekdayOfEpochDay,
  localEpochDay,
  MS_PER_DAY,
  MS_PER_HOUR,
  startOfCopenhagenDate,
  startOfCopenhagenDay,
  startOfLocalEpochDay,
  summerTimeOf,
  yearOfEpochDay,
} from './copenhagen.ts';

const t = (iso: string): number => Date.parse(iso);

// ---- Intl reference (the slow, authoritative implementation) --------------------------------
const fmt = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Copenhagen',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  weekday: 'short',
});
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
function intlParts(ms: number) {
  const p: Record<string, string> = {};
  for (const part of fmt.formatToParts(ms)) p[part.type] = part.value;
  const year = Number(p.year);
  const month = Number(p.month);
  const day = Number(p.day);
  const hour = Number(p.hour);
  const minute = Number(p.minute);
  const second = Number(p.second);
  const wallMs = Date.UTC(year, month - 1, day, hour, minute, second) + (((ms % 1000) + 1000) % 1000);
  return { year, month, day, hour, minute, second, weekday: WEEKDAYS[p.weekday!], offsetMinutes: (wallMs - ms) / 60_000 };
}
const ours = (ms: number) => {
  const { millisecond: _ms, ...rest } = copenhagenParts(ms);
  return rest;
};

describe('civil date arithmetic', () => {
  it('round-trips epoch days for 1600–2400 and knows the weekday', () => {
    const bad: number[] = [];
    let previous = civilFromEpochDay(epochDayFromCivil(1600, 1, 1) - 1);
    for (let d = epochDayFromCivil(1600, 1, 1); d <= epochDayFromCivil(2400, 12, 31); d++) {
      const c = civilFromEpochDay(d);
      const consecutive =
        (c.year === previous.year && c.month === previous.month && c.day === previous.day + 1) ||
        (c.day === 1 && (c.month === previous.month + 1 || (c.month === 1 && previous.month === 12 && c.year === previous.year + 1)));
      if (epochDayFromCivil(c.year, c.month, c.day) !== d || yearOfEpochDay(d) !== c.year || !consecutive) bad.push(d);
      previous = c;
    }
    expect(bad).toEqual([]);
    expect(epochDayFromCivil(1970, 1, 1)).toBe(0);
    expect(formatEpochDay(epochDayOfDate('2024-02-29'))).toBe('2024-02-29');
    expect(isoWeekdayOfEpochDay(0)).toBe(4); // Thursday
    expect(isoWeekdayOfEpochDay(epochDayOfDate('2025-04-10'))).toBe(4);
    expect(isoWeekdayOfEpochDay(epochDayOfDate('2025-03-30'))).toBe(7);
  });

  it.each(['2025-02-29', '2025-13-01', '2025-00-10', '2025-1-01', '25-01-01', '2025/01/01', '2025-01-32', ''])(
    'rejects %j',
    (bad) => {
      expect(() => epochDayOfDate(bad)).toThrow(RangeError);
    },
  );
});

describe('summer time (CET/CEST)', () => {
  it('starts/ends on the last Sundays of March/October at 01:00 UTC', () => {
    expect(summerTimeOf(2025)).toEqual({ startMs: t('2025-03-30T01:00:00Z'), endMs: t('2025-10-26T01:00:00Z') });
    expect(summerTimeOf(2024)).toEqual({ startMs: t('2024-03-31T01:00:00Z'), endMs: t('2024-10-27T01:00:00Z') });
    expect(summerTimeOf(1995)).toEqual({ startMs: t('1995-03-26T01:00:00Z'), endMs: t('1995-09-24T01:00:00Z') });
    expect(summerTimeOf(1979)).toBeNull();
  });

  it('switches offsets exactly at the transition instants', () => {
    expect(copenhagenOffsetMs(t('2025-03-30T00:59:59.999Z'))).toBe(MS_PER_HOUR);
    expect(copenhagenOffsetMs(t('2025-03-30T01:00:00Z'))).toBe(2 * MS_PER_HOUR);
    expect(copenhagenOffsetMs(t('2025-10-26T00:59:59.999Z'))).toBe(2 * MS_PER_HOUR);
    expect(copenhagenOffsetMs(t('2025-10-26T01:00:00Z'))).toBe(MS_PER_HOUR);
  });

  it('has a 23-hour day in March and a 25-hour day in October', () => {
    expect(hoursInCopenhagenDate('2025-03-30')).toBe(23);
    expect(hoursInCopenhagenDate('2025-10-26')).toBe(25);
    expect(hoursInCopenhagenDate('2025-03-29')).toBe(24);
    expect(hoursInCopenhagenDate('2026-03-29')).toBe(23);
    expect(hoursInCopenhagenDate('2026-10-25')).toBe(25);
  });
});

describe('local dates and midnights', () => {
  it('takes the local date, not the UTC date', () => {
    expect(copenhagenDate(t('2025-04-10T21:59:59.999Z'))).toBe('2025-04-10');
    expect(copenhagenDate(t('2025-04-10T22:00:00Z'))).toBe('2025-04-11');
    expect(copenhagenDate(t('2025-01-10T22:59:59Z'))).toBe('2025-01-10');
    expect(copenhagenDate(t('2025-12-31T23:00:00Z'))).toBe('2026-01-01');
    expect(copenhagenParts(t('2025-04-10T10:00:00+02:00'))).toEqual({
      year: 2025,
      month: 4,
      day: 10,
      hour: 10,
      minute: 0,
      second: 0,
      millisecond: 0,
      weekday: 4,
      offsetMinutes: 120,
    });
  });

  it('finds local midnight on ordinary and DST days', () => {
    expect(startOfCopenhagenDate('2025-01-15')).toBe(t('2025-01-15T00:00:00+01:00'));
    expect(startOfCopenhagenDate('2025-07-15')).toBe(t('2025-07-15T00:00:00+02:00'));
    expect(startOfCopenhagenDate('2025-03-30')).toBe(t('2025-03-30T00:00:00+01:00'));
    expect(startOfCopenhagenDate('2025-03-31')).toBe(t('2025-03-31T00:00:00+02:00'));
    expect(startOfCopenhagenDate('2025-10-26')).toBe(t('2025-10-26T00:00:00+02:00'));
    expect(startOfCopenhagenDate('2025-10-27')).toBe(t('2025-10-27T00:00:00+01:00'));
    expect(startOfCopenhagenDay(t('2025-10-26T20:00:00Z'))).toBe(t('2025-10-26T00:00:00+02:00'));
    expect(endOfCopenhagenDay(t('2025-10-26T20:00:00Z'))).toBe(t('2025-10-27T00:00:00+01:00'));
  });

  it('resolves wall times: gap moves forward, overlap takes the earlier instant', () => {
    expect(copenhagenInstant(2025, 3, 30, 2, 30)).toBe(t('2025-03-30T03:30:00+02:00'));
    expect(copenhagenInstant(2025, 3, 30, 3, 0)).toBe(t('2025-03-30T03:00:00+02:00'));
    expect(copenhagenInstant(2025, 3, 30, 1, 59)).toBe(t('2025-03-30T01:59:00+01:00'));
    expect(copenhagenInstant(2025, 10, 26, 2, 30)).toBe(t('2025-10-26T02:30:00+02:00'));
    expect(copenhagenInstant(2025, 10, 26, 3, 0)).toBe(t('2025-10-26T03:00:00+01:00'));
  });
});

describe('adding local days and months', () => {
  it('keeps the wall time across DST (Friday before the last Sunday of March / October)', () => {
    expect(addCopenhagenDays(t('2025-03-28T10:00:00+01:00'), 2)).toBe(t('2025-03-30T10:00:00+02:00'));
    expect(addCopenhagenDays(t('2025-10-24T10:00:00+02:00'), 2)).toBe(t('2025-10-26T10:00:00+01:00'));
    expect(addCopenhagenDays(t('2025-03-29T02:30:00+01:00'), 1)).toBe(t('2025-03-30T03:30:00+02:00'));
    expect(addCopenhagenDays(t('2025-10-25T02:30:00+02:00'), 1)).toBe(t('2025-10-26T02:30:00+02:00'));
    expect(addCopenhagenDays(t('2025-03-31T10:00:00+02:00'), -3)).toBe(t('2025-03-28T10:00:00+01:00'));
  });

  it('clamps months to the last day of the month', () => {
    expect(addCopenhagenMonths(t('2025-01-31T10:00:00+01:00'), 1)).toBe(t('2025-02-28T10:00:00+01:00'));
    expect(addCopenhagenMonths(t('2024-01-31T10:00:00+01:00'), 1)).toBe(t('2024-02-29T10:00:00+01:00'));
    expect(addCopenhagenMonths(t('2024-03-31T10:00:00+02:00'), -1)).toBe(t('2024-02-29T10:00:00+01:00'));
    expect(addCopenhagenMonths(t('2025-08-31T09:00:00+02:00'), 6)).toBe(t('2026-02-28T09:00:00+01:00'));
    expect(addCopenhagenMonths(t('2025-11-30T09:00:00+01:00'), 3)).toBe(t('2026-02-28T09:00:00+01:00'));
    expect(addCopenhagenMonths(t('2025-12-15T09:00:00+01:00'), 14)).toBe(t('2027-02-15T09:00:00+01:00'));
    expect(addCopenhagenMonths(t('2025-03-15T12:00:00+01:00'), 1)).toBe(t('2025-04-15T12:00:00+02:00'));
    // 02:30 does not exist on 2025-03-30: moved forward to 03:30 CEST
    expect(addCopenhagenMonths(t('2025-01-30T02:30:00+01:00'), 2)).toBe(t('2025-03-30T03:30:00+02:00'));
  });

  it('rejects non-integer day and month counts', () => {
    expect(() => addCopenhagenDays(0, 1.5)).toThrow(RangeError);
    expect(() => addCopenhagenMonths(0, Number.NaN)).toThrow(RangeError);
  });
});

describe('cross-check against Intl (Europe/Copenhagen)', () => {
  it('agrees with Intl every hour from 2020 through 2030', () => {
    const mismatches: string[] = [];
    for (let ms = t('2020-01-01T00:00:00Z'); ms < t('2031-01-01T00:00:00Z'); ms += MS_PER_HOUR) {
      const a = ours(ms);
      const b = intlParts(ms);
      if (JSON.stringify(a) !== JSON.stringify(b)) mismatches.push(`${new Date(ms).toISOString()} ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it('agrees with Intl every minute within ±3 h of every transition 1980–2040 (plus odd milliseconds)', () => {
    const mismatches: string[] = [];
    for (let year = 1980; year <= 2040; year++) {
      const st = summerTimeOf(year)!;
      for (const edge of [st.startMs, st.endMs]) {
        for (let ms = edge - 3 * MS_PER_HOUR; ms <= edge + 3 * MS_PER_HOUR; ms += 60_000) {
          for (const probe of [ms, ms - 1, ms + 999]) {
            const a = ours(probe);
            const b = intlParts(probe);
            if (JSON.stringify(a) !== JSON.stringify(b)) mismatches.push(`${new Date(probe).toISOString()} ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
          }
        }
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it('finds the same local midnight as Intl for every day 1950–2100', () => {
    const mismatches: string[] = [];
    for (let d = epochDayFromCivil(1950, 1, 1); d <= epochDayFromCivil(2100, 12, 31); d++) {
      const midnight = startOfLocalEpochDay(d);
      const at = intlParts(midnight);
      const before = intlParts(midnight - 1);
      const c = civilFromEpochDay(d);
      const ok =
        at.year === c.year && at.month === c.month && at.day === c.day && at.hour === 0 && at.minute === 0 && at.second === 0 && before.hour === 23 && localEpochDay(midnight - 1) === d - 1;
      if (!ok) mismatches.push(formatEpochDay(d));
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it('round-trips every local wall hour 2020–2030 through copenhagenInstant (02:xx in the March gap -> 03:xx)', () => {
    const bad: string[] = [];
    for (let d = epochDayFromCivil(2020, 1, 1); d < epochDayFromCivil(2031, 1, 1); d++) {
      const c = civilFromEpochDay(d);
      for (let h = 0; h < 24; h++) {
        const ms = copenhagenInstant(c.year, c.month, c.day, h, 17);
        const p = copenhagenParts(ms);
        const gap = h === 2 && hoursInCopenhagenDate(formatEpochDay(d)) === 23;
        if (p.year !== c.year || p.month !== c.month || p.day !== c.day || p.hour !== (gap ? 3 : h) || p.minute !== 17) bad.push(`${formatEpochDay(d)} ${h}`);
      }
    }
    expect(bad).toEqual([]);
    expect(MS_PER_DAY).toBe(86_400_000);
  });
});
