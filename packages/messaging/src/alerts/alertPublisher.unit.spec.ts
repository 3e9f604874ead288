import { describe, expect, it } from 'vitest';
import { alertId, deadlineAlertOf, gapAlertOf, InMemoryAlertPublisher, toAlertCloudEvent, trackerAlertOf, type GapAlert } from './alertPublisher.ts';

const scheduled = {
  sequence: 12,
  kind: 'BREACHED' as const,
  citizenId: 'c-7',
  clockId: 'bfu-4-maaneder:inv-1',
  policy: 'bfu-4-maaneder',
  unitId: '0751-bf-myndighed',
  atMs: Date.parse('2025-05-01T00:00:00Z'),
  detectedMs: Date.parse('2025-05-01T00:00:01Z'),
  startedMs: Date.parse('2025-01-01T00:00:00Z'),
  dueMs: Date.parse('2025-05-01T00:00:00Z'),
  atRiskMs: Date.parse('2025-04-01T00:00:00Z'),
  stoppedMs: null,
};

const gap: GapAlert = {
  kind: 'gap',
  citizenId: 'c-7',
  gapKind: 'HANDOVER_PENDING',
  gapKey: 'HANDOVER_PENDING:h-1',
  change: 'OVERDUE',
  fromUnitId: '0751-ungeenhed',
  toUnitId: '0751-jobcenter',
  relativeId: null,
  at: '2025-02-14T23:00:00.000Z',
  detectedAt: '2025-02-14T23:00:02.000Z',
  startedAt: '2025-02-01T09:00:00.000Z',
  endedAt: null,
  dueAt: '2025-02-14T23:00:00.000Z',
};

describe('alerts', () => {
  it('maps the deadline scheduler\'s alert onto the Kafka contract', () => {
    expect(deadlineAlertOf(scheduled)).toEqual({
      kind: 'deadline',
      citizenId: 'c-7',
      policy: 'bfu-4-maaneder',
      clockId: 'bfu-4-maaneder:inv-1',
      unitId: '0751-bf-myndighed',
      change: 'BREACHED',
      at: '2025-05-01T00:00:00.000Z',
      detectedAt: '2025-05-01T00:00:01.000Z',
      startedAt: '2025-01-01T00:00:00.000Z',
      dueAt: '2025-05-01T00:00:00.000Z',
      atRiskAt: '2025-04-01T00:00:00.000Z',
      stoppedAt: null,
      sequence: 12,
    });
  });

  it('gives the same change of the same thing the same UUID-shaped id, and anything else another', () => {
    const deadline = deadlineAlertOf(scheduled);
    expect(alertId(deadline)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(alertId({ ...deadline, detectedAt: '2030-01-01T00:00:00.000Z', sequence: 99 })).toBe(alertId(deadline));
    expect(alertId({ ...deadline, change: 'AT_RISK' })).not.toBe(alertId(deadline));
    expect(alertId({ ...deadline, clockId: 'other' })).not.toBe(alertId(deadline));
    expect(alertId(gap)).not.toBe(alertId({ ...gap, change: 'CLOSED' }));
  });

  it('is a CloudEvent about the citizen at the instant of the change', () => {
    expect(toAlertCloudEvent(gap, 'urn:test')).toEqual({
      specversion: '1.0',
      id: alertId(gap),
      source: 'urn:test',
      type: 'dk.kommune.transitions.GapAlert.v1',
      subject: 'c-7',
      time: gap.at,
      datacontenttype: 'application/json',
      partitionkey: 'c-7',
      data: {
        gapKind: 'HANDOVER_PENDING',
        gapKey: 'HANDOVER_PENDING:h-1',
        change: 'OVERDUE',
        fromUnitId: '0751-ungeenhed',
        toUnitId: '0751-jobcenter',
        relativeId: null,
        at: gap.at,
        detectedAt: gap.detectedAt,
        startedAt: gap.startedAt,
        endedAt: null,
        dueAt: gap.dueAt,
      },
    });
  });

  it('maps the scheduler\'s outbox alerts, deadline and gap, onto the Kafka contract', () => {
    const recordedGap = {
      about: 'gap' as const,
      sequence: 13,
      kind: 'OVERDUE' as const,
      citizenId: 'c-7',
      gapKey: 'HANDOVER_PENDING:h-1',
      gapKind: 'HANDOVER_PENDING' as const,
      fromUnitId: '0751-ungeenhed',
      toUnitId: '0751-jobcenter',
      relativeId: null,
      atMs: Date.parse(gap.at),
      detectedMs: Date.parse(gap.detectedAt),
      startedMs: Date.parse(gap.startedAt),
      endedMs: null,
      dueMs: Date.parse(gap.dueAt!),
    };
    expect(trackerAlertOf(recordedGap)).toEqual({ ...gap, sequence: 13 });
    expect(gapAlertOf({ ...recordedGap, endedMs: Date.parse('2025-02-20T10:00:00Z') }).endedAt).toBe('2025-02-20T10:00:00.000Z');
    expect(trackerAlertOf({ about: 'deadline', ...scheduled })).toEqual(deadlineAlertOf(scheduled));
  });

  it('has an in-memory publisher for detectors\' tests', async () => {
    const publisher = new InMemoryAlertPublisher();
    await publisher.publish([gap, deadlineAlertOf(scheduled)]);
    expect(publisher.published.map((a) => a.kind)).toEqual(['gap', 'deadline']);
  });
});
