/**
 * Synthetic expert responses for benchmarks/consensus: model-like prose in
 * several "camps" (answers that agree share a vocabulary and a final answer),
 * deterministic for a given seed, at a target size in bytes.
 */

const COMMON = ("the a of to and in is that for it as with be on by this are from or an which can at their more when also than its " +
  "because however therefore overall important consider").split(" ");
const TOPICS = [
  "database transactions integrity constraints schema postgres relational consistency durability indexes joins replication",
  "documents flexible sharding horizontal scaling mongodb embedded denormalised throughput eventual writes clusters",
  "latency network caching edge requests bandwidth compression protocol connection pooling timeouts retries",
  "memory allocation garbage collector heap pressure pauses generational compaction throughput objects arenas",
  "security tokens cookies storage httponly csrf xss rotation expiry refresh scopes sessions encryption",
];

/** Mulberry32: a small deterministic PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sentence(random: () => number, topic: string[]): string {
  const length = 8 + Math.floor(random() * 14);
  const words: string[] = [];
  for (let i = 0; i < length; i++) {
    const pool = random() < 0.45 ? topic : COMMON;
    words.push(pool[Math.floor(random() * pool.length)]!);
  }
  const s = words.join(" ");
  return s[0]!.toUpperCase() + s.slice(1) + (random() < 0.1 ? "!" : ".");
}

/** `count` responses of about `bytes` each: most in camp 0, the rest spread over other camps. */
export function responseSet(count: number, bytes: number, seed = 1): { expertId: string; text: string }[] {
  const random = prng(seed * 7919 + count * 31 + bytes);
  return Array.from({ length: count }, (_, i) => {
    const camp = random() < 0.6 ? 0 : 1 + Math.floor(random() * (TOPICS.length - 1));
    const topic = TOPICS[camp]!.split(" ");
    const parts: string[] = [];
    let size = 0;
    while (size < bytes - 40) {
      const s = sentence(random, topic);
      parts.push(s);
      size += s.length + 1;
      if (random() < 0.15) {
        parts.push("\n\n");
        size += 2;
      }
    }
    parts.push(`\nFinal answer: ${camp === 0 ? "1,250" : String(100 * camp)}`);
    return { expertId: `expert-${i}`, text: parts.join(" ").slice(0, bytes) };
  });
}
