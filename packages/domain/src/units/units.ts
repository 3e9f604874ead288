/**
 * Units come from configuration (UNITS_FILE), never from events: a typo in an event's unit id would
 * otherwise corrupt every statistic, so the file is validated strictly at start.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MunicipalityCode, Sector } from '../events/catalog.ts';

export const UnitSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1–64 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-"'),
    name: z.string().min(1).max(200),
    administration: z.string().min(1).max(200),
    sector: Sector,
    municipality: MunicipalityCode,
  })
  .strict();

export const UnitsFileSchema = z
  .object({ units: z.array(UnitSchema).min(1, 'must list at least one unit') })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    file.units.forEach((unit, index) => {
      const first = seen.get(unit.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['units', index, 'id'], message: `duplicates units.${first}.id` });
      else seen.set(unit.id, index);
    });
  });

export type Unit = z.infer<typeof UnitSchema>;
export type UnitSector = Unit['sector'];

/** The configured units, looked up by id. */
export class UnitDirectory {
  readonly #byId: ReadonlyMap<string, Unit>;
  constructor(readonly units: readonly Unit[]) {
    this.#byId = new Map(units.map((u) => [u.id, u]));
  }
  get(id: string): Unit | undefined {
    return this.#byId.get(id);
  }
  isKnownUnit = (id: string): boolean => this.#byId.has(id);
  sectorOf(id: string): UnitSector | undefined {
    return this.#byId.get(id)?.sector;
  }
}

export class ConfigFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is not a valid configuration file:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigFileError';
  }
}

/** Parses a units file's text; throws ConfigFileError naming each bad field and why. */
export function parseUnitsFile(text: string, file: string): UnitDirectory {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigFileError(file, [`not valid JSON: ${(error as Error).message}`]);
  }
  const parsed = UnitsFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigFileError(
      file,
      parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(file)'}: ${i.message}`),
    );
  }
  return new UnitDirectory(parsed.data.units);
}

export function loadUnitsFile(file: string): UnitDirectory {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigFileError(file, [`cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  return parseUnitsFile(text, file);
}

/** The demo kommune's units: the default when UNITS_FILE is not set. */
export const DEMO_UNITS_FILE = fileURLToPath(new URL('./demo-kommune-units.json', import.meta.url));
