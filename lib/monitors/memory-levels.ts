import type { AlertSeverity } from "./alert";

/**
 * How full a node's memory is, as a share of its limit. Each level's name is
 * also the severity of its alert (AlertSeverity), and its value is what the
 * `core_memory_level` gauge shows:
 *
 * | level     | entered at | left below | value | what happens                      |
 * |-----------|-----------:|-----------:|------:|-----------------------------------|
 * | normal    |          - |          - |     0 |                                   |
 * | warning   |       70 % |       67 % |     1 | alert                             |
 * | high      |       80 % |       77 % |     2 | alert                             |
 * | critical  |       90 % |       87 % |     3 | alert; the node sheds new work    |
 * | emergency |       95 % |       92 % |     4 | alert; still shedding             |
 *
 * A level is left only some points (the hysteresis, 3 by default) below the
 * threshold that entered it, so usage hovering at a threshold does not flap.
 */
export type MemoryLevelName = "normal" | "warning" | "high" | "critical" | "emergency";

export interface MemoryLevel {
  name: Exclude<MemoryLevelName, "normal"> & AlertSeverity;
  /** Share of the limit (0..1) at or above which the level is entered. */
  threshold: number;
  /** 1..4: the `core_memory_level` gauge. */
  value: number;
}

export const MEMORY_LEVELS: readonly MemoryLevel[] = [
  { name: "warning", threshold: 0.7, value: 1 },
  { name: "high", threshold: 0.8, value: 2 },
  { name: "critical", threshold: 0.9, value: 3 },
  { name: "emergency", threshold: 0.95, value: 4 },
];

/** The level from which a node refuses new work (and until it falls below that level's exit threshold). */
export const SHEDDING_LEVEL: MemoryLevelName = "critical";

export const DEFAULT_HYSTERESIS = 0.03;

export const LEVEL_VALUE: Readonly<Record<MemoryLevelName, number>> = {
  normal: 0,
  ...(Object.fromEntries(MEMORY_LEVELS.map((l) => [l.name, l.value])) as Record<MemoryLevel["name"], number>),
};

export interface LevelChange {
  level: MemoryLevel;
  change: "raised" | "resolved";
  /** The share that entered (raised) or left (resolved) the level. */
  threshold: number;
}

/**
 * The current level of one node's memory, moved by each sample's usage ratio.
 * Crossing several thresholds in one sample reports every level crossed, in
 * order: up from the lowest, down from the highest.
 */
export class MemoryLevels {
  /** How many levels are active: 0 is normal, MEMORY_LEVELS.length is emergency. */
  private active = 0;
  private readonly sheddingFrom = MEMORY_LEVELS.findIndex((l) => l.name === SHEDDING_LEVEL) + 1;

  constructor(private readonly hysteresis: number = DEFAULT_HYSTERESIS) {
    if (!(hysteresis >= 0 && hysteresis < MEMORY_LEVELS[0]!.threshold)) throw new RangeError(`hysteresis must be from 0 to below ${MEMORY_LEVELS[0]!.threshold}, got ${hysteresis}`);
  }

  /** The share below which `level` is left. */
  exitThreshold(level: MemoryLevel): number {
    return level.threshold - this.hysteresis;
  }

  update(ratio: number): LevelChange[] {
    if (!Number.isFinite(ratio)) return [];
    const changes: LevelChange[] = [];
    while (this.active < MEMORY_LEVELS.length && ratio >= MEMORY_LEVELS[this.active]!.threshold) {
      const level = MEMORY_LEVELS[this.active++]!;
      changes.push({ level, change: "raised", threshold: level.threshold });
    }
    if (changes.length > 0) return changes;
    while (this.active > 0 && ratio < this.exitThreshold(MEMORY_LEVELS[this.active - 1]!)) {
      const level = MEMORY_LEVELS[--this.active]!;
      changes.push({ level, change: "resolved", threshold: this.exitThreshold(level) });
    }
    return changes;
  }

  get level(): MemoryLevelName {
    return this.active === 0 ? "normal" : MEMORY_LEVELS[this.active - 1]!.name;
  }

  /** The levels now active, lowest first (each has an alert raised). */
  get activeLevels(): readonly MemoryLevel[] {
    return MEMORY_LEVELS.slice(0, this.active);
  }

  /** True from the critical level up, until usage falls below critical's exit threshold. */
  get shedding(): boolean {
    return this.active >= this.sheddingFrom;
  }
}
