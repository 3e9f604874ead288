import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileError, DEMO_UNITS_FILE, loadUnitsFile, parseUnitsFile } from './units.ts';

const problemsOf = (text: string) => {
  try {
    parseUnitsFile(text, 'units.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigFileError);
    return (error as ConfigFileError).problems;
  }
  throw new Error('expected the file to be refused');
};
const unit = { id: 'u1', name: 'Ungeenheden', administration: 'Børn og Unge', sector: 'youth', municipality: '0751' };

describe('units file', () => {
  it('loads the demo kommune', () => {
    const units = loadUnitsFile(DEMO_UNITS_FILE);
    expect(units.units.length).toBeGreaterThan(5);
    expect(units.sectorOf('0751-ungeenhed')).toBe('youth');
    expect(units.isKnownUnit('nope')).toBe(false);
  });

  it('names the bad field and the reason', () => {
    expect(problemsOf('{')[0]).toMatch(/^not valid JSON/);
    expect(problemsOf('{"units": []}')).toEqual(['units: must list at least one unit']);
    expect(problemsOf(JSON.stringify({ units: [{ ...unit, sector: 'elderly' }] }))[0]).toMatch(/^units\.0\.sector: /);
    expect(problemsOf(JSON.stringify({ units: [{ ...unit, municipality: '751' }] }))[0]).toMatch(/^units\.0\.municipality: must be a 4-digit/);
    expect(problemsOf(JSON.stringify({ units: [unit, unit] }))).toEqual(['units.1.id: duplicates units.0.id']);
    expect(problemsOf(JSON.stringify({ units: [{ ...unit, colour: 'red' }] }))[0]).toMatch(/^units\.0: /);
  });

  it('says when the file cannot be read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'units-'));
    expect(() => loadUnitsFile(join(dir, 'missing.json'))).toThrow(/cannot be read: ENOENT/);
    writeFileSync(join(dir, 'ok.json'), JSON.stringify({ units: [unit] }));
    expect(loadUnitsFile(join(dir, 'ok.json')).get('u1')?.name).toBe('Ungeenheden');
  });
});
