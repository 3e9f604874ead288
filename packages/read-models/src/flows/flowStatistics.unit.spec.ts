import { describe, expect, it } from 'vitest';
import { FlowCell, outcomeAt, quantile, suppressSmallCells, type FlowOutcome, type JudgedHandover } from './flowStatistics.ts';

describe('quantile', () => {
  it('interpolates between closest ranks (type 7): the median of an even count is the mean of the middle two', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([4], 0.5)).toBe(4);
    expect(quantile([4], 0.9)).toBe(4);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.9)).toBeCloseTo(3.7, 12);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.9)).toBe(10);
  });
});

describe('outcome at the end of the period', () => {
  const none = { acceptedMs: null, rejectedMs: null, completedMs: null, cancelledMs: null };

  it('is pending until a resolution stands before the end (exclusive)', () => {
    expect(outcomeAt(none, 100)).toBe('pending');
    expect(outcomeAt({ ...none, acceptedMs: 100 }, 100)).toBe('pending');
    expect(outcomeAt({ ...none, acceptedMs: 99 }, 100)).toBe('accepted');
  });

  it('follows the latest resolution, counting completion as acceptance; ties go cancelled > completed > rejected > accepted', () => {
    expect(outcomeAt({ ...none, acceptedMs: 10, completedMs: 20 }, 100)).toBe('accepted');
    expect(outcomeAt({ ...none, acceptedMs: 10, cancelledMs: 20 }, 100)).toBe('cancelled');
    expect(outcomeAt({ ...none, acceptedMs: 10, cancelledMs: 20 }, 15)).toBe('accepted');
    expect(outcomeAt({ ...none, rejectedMs: 10, acceptedMs: 20 }, 100)).toBe('accepted');
    expect(outcomeAt({ ...none, rejectedMs: 10, acceptedMs: 10 }, 100)).toBe('rejected');
    expect(outcomeAt({ ...none, rejectedMs: 10, completedMs: 10 }, 100)).toBe('accepted');
    expect(outcomeAt({ ...none, cancelledMs: 10, completedMs: 10 }, 100)).toBe('cancelled');
  });
});

function cellOf(spec: { citizen: string; outcome: FlowOutcome; days?: number; lost?: boolean }[]): FlowCell {
  const cell = new FlowCell();
  for (const s of spec) {
    const h: JudgedHandover = {
      citizenId: s.citizen,
      fromUnitId: 'a',
      toUnitId: 'b',
      ageBand: 'AGE_15_17',
      municipality: '0751',
      outcome: s.outcome,
      daysToAccept: s.outcome === 'accepted' ? (s.days ?? 1) : null,
      lost: s.lost ?? false,
    };
    cell.add(h);
  }
  return cell;
}

const many = (n: number, outcome: FlowOutcome, prefix: string, extra: { days?: number; lost?: boolean } = {}) =>
  Array.from({ length: n }, (_, i) => ({ citizen: `${prefix}${i}`, outcome, ...extra }));

describe('small cells', () => {
  it('withholds everything of a cell resting on fewer than 5 citizens, counting citizens, not handovers', () => {
    // Six handovers, but only four citizens.
    const cell = cellOf([...many(4, 'accepted', 'c'), { citizen: 'c0', outcome: 'rejected' }, { citizen: 'c1', outcome: 'rejected' }]);
    expect(suppressSmallCells(cell)).toEqual({
      citizens: null,
      count: null,
      accepted: null,
      rejected: null,
      pending: null,
      cancelled: null,
      medianDaysToAccept: null,
      p90DaysToAccept: null,
      lost: null,
      suppressed: true,
    });
  });

  it('shows a cell of 5 citizens and more, and zeros, exactly', () => {
    const cell = cellOf([...many(5, 'accepted', 'a', { days: 3 }), ...many(5, 'pending', 'p')]);
    expect(suppressSmallCells(cell)).toEqual({
      citizens: 10,
      count: 10,
      accepted: 5,
      rejected: 0,
      pending: 5,
      cancelled: 0,
      medianDaysToAccept: 3,
      p90DaysToAccept: 3,
      lost: 0,
      suppressed: false,
    });
  });

  it('withholds a count on 1–4 citizens and, when it is the only one, the smallest other part too', () => {
    const cell = cellOf([...many(20, 'accepted', 'a'), ...many(2, 'rejected', 'r'), ...many(6, 'pending', 'p')]);
    // rejected (2) is small; without a second blank, count − accepted − pending − cancelled would give it away.
    expect(suppressSmallCells(cell)).toMatchObject({ count: 28, accepted: 20, rejected: null, pending: 6, cancelled: null, suppressed: true });
  });

  it('withholds small lost counts and times resting on fewer than 5 accepted citizens', () => {
    const cell = cellOf([...many(3, 'accepted', 'a', { lost: true }), ...many(10, 'pending', 'p'), ...many(5, 'cancelled', 'x')]);
    expect(suppressSmallCells(cell)).toMatchObject({ accepted: null, lost: null, medianDaysToAccept: null, p90DaysToAccept: null, suppressed: true });
  });

  it('takes a custom threshold', () => {
    const cell = cellOf(many(3, 'accepted', 'a'));
    expect(suppressSmallCells(cell, 3)).toMatchObject({ citizens: 3, accepted: 3, suppressed: false });
  });
});
