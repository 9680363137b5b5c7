//! Weighted majority vote over final answers (native/README.md §5; lib/consensus/vote.ts).

use crate::engine::{FinalAnswer, RawVote, RawVoteOption};

pub fn vote(answers: &[Option<FinalAnswer>], weights: &[f64], total: f64) -> Option<RawVote> {
    // (option, weight, first voter), in order of first appearance.
    let mut options: Vec<(RawVoteOption, f64, usize)> = Vec::new();
    let mut voters_weight = 0.0;
    for (i, answer) in answers.iter().enumerate() {
        let Some(answer) = answer else { continue };
        let position = options.iter().position(|(o, _, _)| o.kind == answer.kind && o.value == answer.value);
        let entry = match position {
            Some(p) => &mut options[p],
            None => {
                options.push((
                    RawVoteOption { kind: answer.kind, value: answer.value.clone(), share: 0.0, voters: Vec::new() },
                    0.0,
                    i,
                ));
                options.last_mut().expect("just pushed")
            }
        };
        entry.0.voters.push(i);
        entry.1 += weights[i];
        voters_weight += weights[i];
    }
    if options.is_empty() {
        return None;
    }
    options.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    Some(RawVote {
        turnout: voters_weight / total,
        options: options
            .into_iter()
            .map(|(option, weight, _)| RawVoteOption { share: weight / voters_weight, ..option })
            .collect(),
    })
}
