/**
 * Guards against personal identification numbers (CPR) where only pseudonymous ids belong.
 *
 * A CPR number is DDMMYY-SSSS or the same ten digits without the hyphen. Whole ids shaped like one
 * are refused (domain.md §3); free-text fields are also refused when a CPR-shaped run stands inside
 * them, because a caseworker pasting "sag om 010190-1234" into a reason field is the usual leak.
 */

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** DDMMYY is a possible birth date: day within the month (29 February counts, some century is leap). */
export function isPossibleCprDate(ddmmyy: string): boolean {
  if (!/^\d{6}$/.test(ddmmyy)) return false;
  const day = Number(ddmmyy.slice(0, 2));
  const month = Number(ddmmyy.slice(2, 4));
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= DAYS_IN_MONTH[month - 1]!;
}

/** The whole value is shaped like a CPR number. */
export function isCprShaped(value: string): boolean {
  const m = /^(\d{6})-?(\d{4})$/.exec(value.trim());
  if (!m) return false;
  // The hyphenated form is refused whatever the digits: nobody's pseudonym looks like that.
  if (value.includes('-')) return true;
  return isPossibleCprDate(m[1]!);
}

/** Some run inside the text is shaped like a CPR number (digits not part of a longer number). */
export function containsCpr(text: string): boolean {
  const re = /(?<!\d)(\d{6})[- ]?(\d{4})(?!\d)/g;
  for (const m of text.matchAll(re)) {
    if (isPossibleCprDate(m[1]!)) return true;
  }
  return false;
}
