import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ExpertResponse } from "../../lib/consensus";

/** A labelled response set from test/fixtures/consensus (see its README). */
export interface ConsensusFixture {
  file: string;
  name: string;
  category: string;
  question: string;
  responses: ExpertResponse[];
  majority: string[];
  finalAnswer?: string;
}

export const CONSENSUS_FIXTURE_DIR = join(__dirname, "..", "fixtures", "consensus");

export function loadConsensusFixtures(): ConsensusFixture[] {
  return readdirSync(CONSENSUS_FIXTURE_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => ({ file, ...(JSON.parse(readFileSync(join(CONSENSUS_FIXTURE_DIR, file), "utf8")) as Omit<ConsensusFixture, "file">) }));
}
