import { describe, expect, it } from 'vitest';
import { Kind, parse, type EnumTypeDefinitionNode } from 'graphql';
import { ANOMALY_KINDS, GAP_KINDS } from '@tracker/domain';
import { decodeGapCursor, encodeGapCursor, gapPageArguments } from './gapCursor.ts';
import { GAPS_TYPE_DEFS } from './gapsExtension.ts';

const enumValues = (name: string): string[] => {
  const node = parse(GAPS_TYPE_DEFS).definitions.find((d): d is EnumTypeDefinitionNode => d.kind === Kind.ENUM_TYPE_DEFINITION && d.name.value === name);
  return node?.values?.map((v) => v.name.value) ?? [];
};

describe('gaps SDL', () => {
  it('names exactly the domain’s gap kinds (the contract’s GapKind) and anomaly kinds', () => {
    expect(enumValues('GapKind')).toEqual([...GAP_KINDS]);
    expect(enumValues('GapKind')).toEqual(['HANDOVER_PENDING', 'HANDOVER_REJECTED', 'UNCOVERED', 'AGE_CLIFF', 'PING_PONG', 'RELATIVE_UNANSWERED', 'REPRESENTATION_LOST']);
    expect(enumValues('AnomalyKind')).toEqual([...ANOMALY_KINDS]);
  });
});

describe('gap cursors', () => {
  const now = () => new Date('2025-03-03T10:00:00+01:00');

  it('round-trip, and only their canonical spelling is accepted', () => {
    const cursor = encodeGapCursor({ index: 41, asOf: 1_740_992_400_000 });
    expect(decodeGapCursor(cursor)).toEqual({ index: 41, asOf: 1_740_992_400_000 });
    expect(decodeGapCursor(`${cursor}A`)).toBeUndefined();
    expect(decodeGapCursor(Buffer.from('handover:v1:41:0').toString('base64url'))).toBeUndefined();
    expect(decodeGapCursor('')).toBeUndefined();
  });

  it('continue after the cursor at its asOf', () => {
    const after = encodeGapCursor({ index: 9, asOf: 123 });
    expect(gapPageArguments({ first: 10, after }, now)).toEqual({ first: 10, offset: 10, asOf: 123 });
    expect(gapPageArguments({}, now)).toEqual({ first: 50, offset: 0, asOf: now().getTime() });
    expect(() => gapPageArguments({ first: -1 }, now)).toThrow(/first/);
  });
});
