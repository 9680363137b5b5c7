//! The Node-API surface of the consensus engine (native/index.d.ts is generated
//! from it): lib/consensus/native-engine.ts NativeEngine and
//! lib/consensus/types.ts RawConsensus. The napi types live here; the engine
//! (`engine`) has its own plain Rust types and is converted at the boundary.

use napi::bindgen_prelude::{AsyncTask, Either, Null};
use napi::{Env, Error, Result, Status, Task};
use napi_derive::napi;

mod answer;
mod background;
mod cluster;
mod constants;
pub mod engine;
mod key_points;
mod number;
mod pipeline;
mod similarity;
mod stop_words;
mod tokenize;
mod vote;

// The engine allocates many small maps and vectors on several threads at once; with
// glibc's allocator that was about 16 % of a 32 × 4 KB run (arena locks included).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[napi(object)]
pub struct ConsensusOptions {
    pub threshold: f64,
    pub cosine_weight: f64,
    pub max_key_points: u32,
}

// `kind` is lib/consensus/types.ts AnswerKind: engine::AnswerKind::as_str.
#[napi(object)]
pub struct FinalAnswer {
    #[napi(ts_type = "'number' | 'choice' | 'yes-no' | 'text'")]
    pub kind: String,
    pub value: String,
}

#[napi(object)]
pub struct RawCluster {
    pub members: Vec<u32>,
    pub weight: f64,
    pub share: f64,
    pub representative: u32,
    pub cohesion: f64,
}

#[napi(object)]
pub struct RawKeyPoint {
    pub text: String,
    pub response: u32,
    pub support: f64,
    pub supporters: Vec<u32>,
}

#[napi(object)]
pub struct RawVoteOption {
    #[napi(ts_type = "'number' | 'choice' | 'yes-no' | 'text'")]
    pub kind: String,
    pub value: String,
    pub share: f64,
    pub voters: Vec<u32>,
}

#[napi(object)]
pub struct RawVote {
    pub turnout: f64,
    pub options: Vec<RawVoteOption>,
}

// `Either<T, Null>` rather than `Option<T>`, because the contract is `T | null`:
// a `None` object field is left out (`vote?: RawVote` in the .d.ts, `undefined`
// in JavaScript), and a `None` array element is `null` in JavaScript but typed
// `FinalAnswer | undefined | null` (napi-rs 3.16). `Either<T, Null>` writes
// `null` and is typed `T | null` in both places.
#[napi(object)]
pub struct RawConsensus {
    pub consensus: u32,
    pub agreement: f64,
    pub clusters: Vec<RawCluster>,
    pub cluster_of: Vec<u32>,
    pub similarity: Vec<f64>,
    pub answers: Vec<Either<FinalAnswer, Null>>,
    pub key_points: Vec<RawKeyPoint>,
    pub vote: Either<RawVote, Null>,
}

// Indices are below engine::MAX_RESPONSES (256), so `as u32` cannot truncate.
fn indices(v: Vec<usize>) -> Vec<u32> {
    v.into_iter().map(|i| i as u32).collect()
}

fn or_null<T>(v: Option<T>) -> Either<T, Null> {
    v.map_or(Either::B(Null), Either::A)
}

impl From<engine::FinalAnswer> for FinalAnswer {
    fn from(a: engine::FinalAnswer) -> Self {
        FinalAnswer { kind: a.kind.as_str().to_owned(), value: a.value }
    }
}

impl From<engine::RawCluster> for RawCluster {
    fn from(c: engine::RawCluster) -> Self {
        RawCluster {
            members: indices(c.members),
            weight: c.weight,
            share: c.share,
            representative: c.representative as u32,
            cohesion: c.cohesion,
        }
    }
}

impl From<engine::RawKeyPoint> for RawKeyPoint {
    fn from(k: engine::RawKeyPoint) -> Self {
        RawKeyPoint { text: k.text, response: k.response as u32, support: k.support, supporters: indices(k.supporters) }
    }
}

impl From<engine::RawVoteOption> for RawVoteOption {
    fn from(o: engine::RawVoteOption) -> Self {
        RawVoteOption { kind: o.kind.as_str().to_owned(), value: o.value, share: o.share, voters: indices(o.voters) }
    }
}

impl From<engine::RawVote> for RawVote {
    fn from(v: engine::RawVote) -> Self {
        RawVote { turnout: v.turnout, options: v.options.into_iter().map(Into::into).collect() }
    }
}

impl From<engine::RawConsensus> for RawConsensus {
    fn from(r: engine::RawConsensus) -> Self {
        RawConsensus {
            consensus: r.consensus as u32,
            agreement: r.agreement,
            clusters: r.clusters.into_iter().map(Into::into).collect(),
            cluster_of: indices(r.cluster_of),
            similarity: r.similarity,
            answers: r.answers.into_iter().map(|a| or_null(a.map(Into::into))).collect(),
            key_points: r.key_points.into_iter().map(Into::into).collect(),
            vote: or_null(r.vote.map(Into::into)),
        }
    }
}

impl From<ConsensusOptions> for engine::Options {
    fn from(o: ConsensusOptions) -> Self {
        engine::Options {
            threshold: o.threshold,
            cosine_weight: o.cosine_weight,
            max_key_points: o.max_key_points as usize,
        }
    }
}

fn to_napi_error(e: engine::EngineError) -> Error {
    let status = if e.is_invalid_input() { Status::InvalidArg } else { Status::GenericFailure };
    Error::new(status, e.to_string())
}

fn run(texts: &[String], weights: &[f64], options: &engine::Options) -> Result<engine::RawConsensus> {
    engine::consensus(texts, weights, options).map_err(to_napi_error)
}

/// The engine's run on the libuv thread pool: `compute` off the JavaScript
/// thread, `resolve` back on it to build the JavaScript object.
pub struct ConsensusTask {
    texts: Vec<String>,
    weights: Vec<f64>,
    options: engine::Options,
}

impl Task for ConsensusTask {
    type Output = engine::RawConsensus;
    type JsValue = RawConsensus;

    fn compute(&mut self) -> Result<Self::Output> {
        run(&self.texts, &self.weights, &self.options)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output.into())
    }
}

/// Runs on the libuv thread pool; the event loop stays free. Invalid input
/// rejects the promise (code "InvalidArg").
// napi-rs types an `AsyncTask` as `Promise<unknown>` unless told.
#[napi(ts_return_type = "Promise<RawConsensus>")]
pub fn consensus(texts: Vec<String>, weights: Vec<f64>, options: ConsensusOptions) -> AsyncTask<ConsensusTask> {
    AsyncTask::new(ConsensusTask { texts, weights, options: options.into() })
}

/// The same, on the calling thread (benchmarks, tests). Invalid input throws
/// (code "InvalidArg").
#[napi]
pub fn consensus_sync(texts: Vec<String>, weights: Vec<f64>, options: ConsensusOptions) -> Result<RawConsensus> {
    run(&texts, &weights, &options.into()).map(Into::into)
}
