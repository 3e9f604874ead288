import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, type StoredEvent } from '@tracker/domain';
import { CloudEventFormatError, cloudEventTypeOf, parseTransitionCloudEvent, toCloudEvent } from './transitionCloudEvent.ts';

const registered: StoredEvent = {
  id: '6f1c1d3e-8a51-4c43-9d8b-0d2a7c5e9f10',
  type: 'CitizenRegistered',
  citizenId: 'c-42',
  occurredAt: '2024-01-02T09:00:00+01:00',
  source: 'dubu',
  data: { birthDate: '2006-05-17', municipality: '0751', disability: true, personal: { name: 'Test Testesen', cpr: '170506-1234' } },
  recordedAt: '2024-01-02T08:00:01.000Z',
  streamVersion: 0,
  globalPosition: 3_000_000_000,
};

describe('transition CloudEvents', () => {
  it('carries the event with its place in the store as extension attributes, keyed by the citizen', () => {
    expect(toCloudEvent(registered, { source: 'urn:test', correlationId: 'req-1' })).toEqual({
      specversion: '1.0',
      id: registered.id,
      source: 'urn:test',
      type: 'dk.kommune.transitions.CitizenRegistered.v1',
      subject: 'c-42',
      time: '2024-01-02T09:00:00+01:00',
      datacontenttype: 'application/json',
      recordedat: '2024-01-02T08:00:01.000Z',
      streamversion: 0,
      globalposition: '3000000000',
      partitionkey: 'c-42',
      sourcesystem: 'dubu',
      correlationid: 'req-1',
      data: { birthDate: '2006-05-17', municipality: '0751', disability: true },
    });
  });

  it('never lets personal data travel, and leaves the stored event untouched', () => {
    const text = JSON.stringify(toCloudEvent(registered, { source: 'urn:test' }));
    expect(text).not.toContain('personal');
    expect(text).not.toContain('Testesen');
    expect(text).not.toContain('170506');
    expect(registered.data).toHaveProperty('personal');
  });

  it('reads back into the stored event (without personal data) and its correlation id', () => {
    const { personal: _personal, ...publicData } = (registered as Extract<StoredEvent, { type: 'CitizenRegistered' }>).data;
    const received = parseTransitionCloudEvent(JSON.stringify(toCloudEvent(registered, { source: 'urn:test', correlationId: 'req-1' })));
    expect(received).toEqual({ event: { ...registered, data: publicData }, correlationId: 'req-1' });
    const withoutOptional = { ...registered, source: undefined, globalPosition: 7 } as StoredEvent;
    delete (withoutOptional as { source?: string }).source;
    expect(parseTransitionCloudEvent(Buffer.from(JSON.stringify(toCloudEvent(withoutOptional, { source: 'urn:test' }))))).toMatchObject({
      event: { globalPosition: 7 },
      correlationId: undefined,
    });
    expect(parseTransitionCloudEvent(JSON.stringify(toCloudEvent(withoutOptional, { source: 'urn:test' }))).event).not.toHaveProperty('source');
  });

  it('has one type per catalog event', () => {
    expect(new Set(EVENT_TYPES.map(cloudEventTypeOf)).size).toBe(EVENT_TYPES.length);
    expect(cloudEventTypeOf('HandoverAccepted')).toBe('dk.kommune.transitions.HandoverAccepted.v1');
  });

  it('refuses what is not a transition CloudEvent, naming the attribute and never its value', () => {
    const good = toCloudEvent(registered, { source: 'urn:test' });
    const cases: [unknown, string][] = [
      [null, '(message)'],
      ['{not json', '(message)'],
      [[1], '(message)'],
      [{ ...good, specversion: '0.3' }, 'specversion'],
      [{ ...good, type: 'dk.kommune.transitions.Unknown.v1' }, 'type'],
      [{ ...good, globalposition: 12 }, 'globalposition'],
      [{ ...good, globalposition: '-1' }, 'globalposition'],
      [{ ...good, streamversion: '0' }, 'streamversion'],
      [{ ...good, data: 'x' }, 'data'],
      [{ ...good, subject: '' }, 'subject'],
    ];
    for (const [value, attribute] of cases) {
      const input = value === null ? null : typeof value === 'string' ? value : JSON.stringify(value);
      let error: unknown;
      try {
        parseTransitionCloudEvent(input);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CloudEventFormatError);
      expect((error as CloudEventFormatError).attribute).toBe(attribute);
      expect((error as Error).message).not.toContain('Unknown');
    }
  });
});
