import type { z } from 'zod';
import { EnvelopeSchema, EVENT_TYPES, eventDataSchemas, unitIdsOf, type EventType, type TransitionEvent } from './catalog.ts';

/** One reason an event was refused; `field` is a dotted path inside the event, never its value. */
export interface FieldError {
  field: string;
  message: string;
}

export type ValidationResult = { ok: true; event: TransitionEvent } | { ok: false; errors: FieldError[] };

export interface ValidationContext {
  /** Units from configuration; an event naming any other unit is refused. */
  isKnownUnit(unitId: string): boolean;
}

const issuesToErrors = (issues: z.core.$ZodIssue[], prefix: string): FieldError[] =>
  issues.map((issue) => ({
    field: [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(event)',
    // zod's messages name expectations, not received values, so no CPR is echoed back.
    message: issue.code === 'invalid_type' && issue.message.includes('received undefined') ? 'is required' : issue.message,
  }));

/** Validates one envelope against the catalog and the configured units. */
export function validateEvent(input: unknown, context: ValidationContext): ValidationResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: '(event)', message: 'must be a JSON object' }] };
  }
  const envelope = EnvelopeSchema.safeParse(input);
  const errors: FieldError[] = envelope.success ? [] : issuesToErrors(envelope.error.issues, '');
  const type = (input as { type?: unknown }).type;
  const known = typeof type === 'string' && (EVENT_TYPES as string[]).includes(type);
  if (typeof type === 'string' && type.length > 0 && !known) {
    errors.push({ field: 'type', message: `unknown event type; expected one of ${EVENT_TYPES.join(', ')}` });
  }
  let data: unknown;
  if (known) {
    const raw = (input as { data?: unknown }).data;
    if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
      const parsed = eventDataSchemas[type as EventType].safeParse(raw);
      if (parsed.success) data = parsed.data;
      else errors.push(...issuesToErrors(parsed.error.issues, 'data'));
    }
  }
  if (errors.length > 0 || !envelope.success) return { ok: false, errors: dedupe(errors) };

  const { id, citizenId, occurredAt, source } = envelope.data;
  const event = { id: id.toLowerCase(), type, citizenId, occurredAt, ...(source ? { source } : {}), data } as TransitionEvent;
  const unknownUnits = unitIdsOf(event).filter((u) => !context.isKnownUnit(u));
  if (unknownUnits.length > 0) {
    return {
      ok: false,
      errors: unknownUnits.map((u) => ({ field: unitFieldOf(event, u), message: 'unknown unit; units come from the units configuration (UNITS_FILE)' })),
    };
  }
  return { ok: true, event };
}

function unitFieldOf(event: TransitionEvent, unitId: string): string {
  if (event.type === 'HandoverInitiated') return event.data.fromUnitId === unitId ? 'data.fromUnitId' : 'data.toUnitId';
  if (event.type === 'MeetingHeld') return `data.unitIds.${event.data.unitIds.indexOf(unitId)}`;
  return 'data.unitId';
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.field}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
