//! Weighted, deterministic threshold clustering (native/README.md §3; lib/consensus/cluster.ts).

use crate::engine::RawCluster;

fn weighted_similarity(matrix: &[f64], n: usize, weights: &[f64], i: usize, others: &[usize]) -> f64 {
    let mut sum = 0.0;
    for &j in others {
        if j != i {
            sum += weights[j] * matrix[i * n + j];
        }
    }
    sum
}

/// Greatest weighted similarity to the other members; ties: greater weight, then lower index.
pub fn medoid(matrix: &[f64], n: usize, weights: &[f64], members: &[usize]) -> usize {
    let mut best = members[0];
    let mut best_score = -1.0;
    for &i in members {
        let score = weighted_similarity(matrix, n, weights, i, members);
        if score > best_score || (score == best_score && weights[i] > weights[best]) {
            best = i;
            best_score = score;
        }
    }
    best
}

pub fn cohesion(matrix: &[f64], n: usize, weights: &[f64], members: &[usize], center: usize) -> f64 {
    let (mut sum, mut weight) = (0.0, 0.0);
    for &j in members {
        if j != center {
            sum += weights[j] * matrix[center * n + j];
            weight += weights[j];
        }
    }
    if weight == 0.0 {
        1.0
    } else {
        sum / weight
    }
}

struct Building {
    members: Vec<usize>,
    weight: f64,
    created: usize,
}

/// Clusters (winner first) and each response's cluster position.
pub fn cluster_responses(matrix: &[f64], weights: &[f64], threshold: f64) -> (Vec<RawCluster>, Vec<usize>) {
    let n = weights.len();
    let all: Vec<usize> = (0..n).collect();
    let centrality: Vec<f64> = all.iter().map(|&i| weighted_similarity(matrix, n, weights, i, &all)).collect();
    let mut order = all.clone();
    order.sort_by(|&a, &b| centrality[b].total_cmp(&centrality[a]).then(a.cmp(&b)));

    let mut building: Vec<Building> = Vec::new();
    for &i in &order {
        let mut best: Option<usize> = None;
        let mut best_average = -1.0;
        for (c, cluster) in building.iter().enumerate() {
            let mut sum = 0.0;
            for &j in &cluster.members {
                sum += weights[j] * matrix[i * n + j];
            }
            let average = sum / cluster.weight;
            if average > best_average {
                best = Some(c);
                best_average = average;
            }
        }
        match best {
            Some(c) if best_average >= threshold => {
                building[c].members.push(i);
                building[c].weight += weights[i];
            }
            _ => {
                let created = building.len();
                building.push(Building { members: vec![i], weight: weights[i], created });
            }
        }
    }

    let total: f64 = weights.iter().sum();
    let mut finished: Vec<(Vec<usize>, f64, usize)> = building
        .into_iter()
        .map(|b| {
            let mut members = b.members;
            members.sort_unstable();
            let weight = members.iter().map(|&i| weights[i]).sum();
            (members, weight, b.created)
        })
        .collect();
    finished.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.len().cmp(&a.0.len())).then(a.2.cmp(&b.2)));
    let mut cluster_of = vec![0; n];
    let clusters = finished
        .into_iter()
        .enumerate()
        .map(|(position, (members, weight, _))| {
            for &i in &members {
                cluster_of[i] = position;
            }
            let representative = medoid(matrix, n, weights, &members);
            let cohesion = cohesion(matrix, n, weights, &members, representative);
            RawCluster { members, weight, share: weight / total, representative, cohesion }
        })
        .collect();
    (clusters, cluster_of)
}
