import { ValidationError } from "../errors";

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** The grammar of a duration: a whole number and a unit (s, m, h, d, w), e.g. `90d`. */
export const DURATION = /^(\d{1,6})([smhdw])$/;

/** `30m`, `12h`, `90d`, `1w` in milliseconds; a ValidationError naming `field` otherwise. */
export function parseDuration(text: string, field = "expiresIn"): number {
  const match = DURATION.exec(text.trim());
  const amount = match ? Number(match[1]) : 0;
  if (!match || amount === 0) {
    throw new ValidationError(`Invalid duration ${JSON.stringify(text)}`, {
      issues: [{ field, received: text, message: "a duration such as 30m, 12h, 90d or 1w" }],
    });
  }
  return amount * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
