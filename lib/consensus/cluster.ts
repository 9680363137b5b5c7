import type { RawCluster } from "./types";

/**
 * Weighted, deterministic threshold clustering (native/README.md, "Clustering").
 * Responses are taken most central first (weighted similarity to all others;
 * ties by index); each joins the existing cluster it is most similar to on
 * weighted average, if that average reaches the threshold, else starts one.
 */

/** Sum over j ≠ i, ascending, of weight[j] × similarity(i, j). */
function weightedSimilarity(matrix: Float64Array, n: number, weights: Float64Array, i: number, others: readonly number[]): number {
  let sum = 0;
  for (const j of others) if (j !== i) sum += weights[j]! * matrix[i * n + j]!;
  return sum;
}

/** The member with the greatest weighted similarity to the others; ties: greater weight, then lower index. */
export function medoid(matrix: Float64Array, n: number, weights: Float64Array, members: readonly number[]): number {
  let best = members[0]!;
  let bestScore = -1;
  for (const i of members) {
    const score = weightedSimilarity(matrix, n, weights, i, members);
    if (score > bestScore || (score === bestScore && weights[i]! > weights[best]!)) {
      best = i;
      bestScore = score;
    }
  }
  return best;
}

/** Weighted mean similarity of the other members to `center` (1 when alone). */
export function cohesion(matrix: Float64Array, n: number, weights: Float64Array, members: readonly number[], center: number): number {
  let sum = 0;
  let weight = 0;
  for (const j of members) {
    if (j === center) continue;
    sum += weights[j]! * matrix[center * n + j]!;
    weight += weights[j]!;
  }
  return weight === 0 ? 1 : sum / weight;
}

interface Building {
  members: number[];
  weight: number;
  created: number;
}

export interface Clustering {
  /** Winning cluster first, then by weight, member count, creation. */
  clusters: RawCluster[];
  clusterOf: number[];
}

export function clusterResponses(matrix: Float64Array, weights: Float64Array, threshold: number): Clustering {
  const n = weights.length;
  const all = Array.from({ length: n }, (_, i) => i);
  const centrality = all.map((i) => weightedSimilarity(matrix, n, weights, i, all));
  const order = [...all].sort((a, b) => centrality[b]! - centrality[a]! || a - b);

  const building: Building[] = [];
  for (const i of order) {
    let best: Building | undefined;
    let bestAverage = -1;
    for (const cluster of building) {
      let sum = 0;
      for (const j of cluster.members) sum += weights[j]! * matrix[i * n + j]!;
      const average = sum / cluster.weight;
      if (average > bestAverage) {
        best = cluster;
        bestAverage = average;
      }
    }
    if (best && bestAverage >= threshold) {
      best.members.push(i);
      best.weight += weights[i]!;
    } else {
      building.push({ members: [i], weight: weights[i]!, created: building.length });
    }
  }

  // Weights summed in index order (the running sums above depend on join order).
  const total = weights.reduce((s, w) => s + w, 0);
  const finished = building.map((cluster) => {
    const members = [...cluster.members].sort((a, b) => a - b);
    return { members, weight: members.reduce((s, i) => s + weights[i]!, 0), created: cluster.created };
  });
  // Greatest total weight wins; ties: more members, then created first.
  finished.sort((a, b) => b.weight - a.weight || b.members.length - a.members.length || a.created - b.created);
  const clusterOf = new Array<number>(n).fill(0);
  const clusters = finished.map(({ members, weight }, position): RawCluster => {
    for (const i of members) clusterOf[i] = position;
    const representative = medoid(matrix, n, weights, members);
    return { members, weight, share: weight / total, representative, cohesion: cohesion(matrix, n, weights, members, representative) };
  });
  return { clusters, clusterOf };
}
