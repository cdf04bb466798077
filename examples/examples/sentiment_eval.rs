//! Measure the rule-based sentiment analyzer on labelled texts: accuracy, macro-F1, a confusion
//! matrix, and its speed on the same texts.
//!
//! Run with:
//! `cargo run --release -p bulwark-examples --example sentiment_eval -- FILE.csv [FILE.csv …] [--neutral-band 0.05] [--time-secs 2]`
//!
//! Each file is CSV with a header row holding at least `text` and `label` (`positive`,
//! `negative` or `neutral`). Every further column is read as the labels another system predicted
//! for the same texts (`scripts/sentiment_eval.sh` adds VADER's as `vader`), and is scored by
//! the same code. Macro-F1 averages the F1 of the classes present in the gold labels, so on a
//! corpus without neutral texts a neutral answer is an error and nothing more.
//!
//! Expected output on the tweets of `scripts/sentiment_eval.sh` (abridged; the speed depends on
//! the machine):
//! ```text
//! == hutto_tweets.csv: 4200 texts (negative 1203, neutral 297, positive 2700)
//! bulwark   accuracy 0.903  macro-F1 0.741
//!   gold \ predicted   positive negative  neutral   precision recall    F1
//!   positive               2574       27       99       0.939  0.953 0.946
//!   negative                 30     1123       50       0.924  0.933 0.928
//!   neutral                 137       66       94       0.387  0.316 0.348
//! vader     accuracy 0.899  macro-F1 0.740
//!   …
//! bulwark speed: 599198 texts/s (1.67 µs/text) over 4200 texts, one thread
//! ```

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bulwark_services::sentiment::analyzer::{Analyzer, AnalyzerConfig, ConfigError, Label};

const LABELS: [Label; 3] = [Label::Positive, Label::Negative, Label::Neutral];

#[derive(Debug, thiserror::Error)]
enum EvalError {
    #[error("usage: sentiment_eval FILE.csv [FILE.csv …] [--neutral-band X] [--time-secs S]: {0}")]
    Usage(String),
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {problem}")]
    Csv { path: PathBuf, problem: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

struct Options {
    files: Vec<PathBuf>,
    neutral_band: f64,
    time: Duration,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Options, EvalError> {
    let mut options = Options {
        files: Vec::new(),
        neutral_band: AnalyzerConfig::DEFAULT_NEUTRAL_BAND,
        time: Duration::from_secs(2),
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| EvalError::Usage(format!("{name} needs a number")))
        };
        match arg.as_str() {
            "--neutral-band" => options.neutral_band = value("--neutral-band")?,
            "--time-secs" => {
                let secs = value("--time-secs")?;
                options.time = Duration::try_from_secs_f64(secs)
                    .map_err(|_| EvalError::Usage("--time-secs must be >= 0".into()))?;
            }
            flag if flag.starts_with("--") => {
                return Err(EvalError::Usage(format!("unknown option {flag}")));
            }
            file => options.files.push(file.into()),
        }
    }
    if options.files.is_empty() {
        return Err(EvalError::Usage("no file given".into()));
    }
    Ok(options)
}

/// The labelled texts of one file, and the other systems' predictions.
struct Corpus {
    texts: Vec<String>,
    gold: Vec<Label>,
    /// (column name, one label per text)
    others: Vec<(String, Vec<Label>)>,
}

fn parse_label(value: &str) -> Option<Label> {
    match value.trim().to_ascii_lowercase().as_str() {
        "positive" | "pos" => Some(Label::Positive),
        "negative" | "neg" => Some(Label::Negative),
        "neutral" | "neu" => Some(Label::Neutral),
        _ => None,
    }
}

fn load(path: &Path) -> Result<Corpus, EvalError> {
    let csv_error = |problem: String| EvalError::Csv {
        path: path.to_owned(),
        problem,
    };
    let content = std::fs::read_to_string(path).map_err(|source| EvalError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut records = read_csv(&content).map_err(csv_error)?.into_iter();
    let header = records
        .next()
        .ok_or_else(|| csv_error("empty file".into()))?;
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| csv_error(format!("no `{name}` column")))
    };
    let (text_at, label_at) = (column("text")?, column("label")?);
    let other_columns: Vec<usize> = (0..header.len())
        .filter(|i| *i != text_at && *i != label_at)
        .collect();
    let mut corpus = Corpus {
        texts: Vec::new(),
        gold: Vec::new(),
        others: other_columns
            .iter()
            .map(|i| (header[*i].trim().to_owned(), Vec::new()))
            .collect(),
    };
    for (row, record) in records.enumerate() {
        let field = |i: usize| {
            record
                .get(i)
                .map(String::as_str)
                .ok_or_else(|| csv_error(format!("record {} has too few fields", row + 2)))
        };
        let label = |i: usize| {
            let value = field(i)?;
            parse_label(value)
                .ok_or_else(|| csv_error(format!("record {}: label {value:?}", row + 2)))
        };
        corpus.texts.push(field(text_at)?.to_owned());
        corpus.gold.push(label(label_at)?);
        for ((_, predictions), i) in corpus.others.iter_mut().zip(&other_columns) {
            predictions.push(label(*i)?);
        }
    }
    Ok(corpus)
}

/// Reads RFC 4180 CSV: comma separated, fields in double quotes may hold commas, newlines and
/// doubled quotes. Blank lines are skipped.
fn read_csv(content: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = content.chars().peekable();
    let mut quoted = false;
    let mut line = 1;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                line += usize::from(c == '\n');
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                line += 1;
                record.push(std::mem::take(&mut field));
                if !(record.len() == 1 && record[0].is_empty()) {
                    records.push(std::mem::take(&mut record));
                }
                record.clear();
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!("unterminated quote (line {line})"));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// `confusion[gold][predicted]`, in the order of [`LABELS`].
struct Scores {
    confusion: [[usize; 3]; 3],
}

impl Scores {
    fn new(gold: &[Label], predicted: &[Label]) -> Self {
        let index = |label: Label| LABELS.iter().position(|l| *l == label).unwrap_or(2);
        let mut confusion = [[0; 3]; 3];
        for (g, p) in gold.iter().zip(predicted) {
            confusion[index(*g)][index(*p)] += 1;
        }
        Self { confusion }
    }

    fn total(&self) -> usize {
        self.confusion.iter().flatten().sum()
    }

    fn accuracy(&self) -> f64 {
        let correct: usize = (0..3).map(|i| self.confusion[i][i]).sum();
        ratio(correct, self.total())
    }

    /// (precision, recall, F1) of class `i`.
    fn class(&self, i: usize) -> (f64, f64, f64) {
        let hits = self.confusion[i][i];
        let predicted: usize = (0..3).map(|g| self.confusion[g][i]).sum();
        let actual: usize = self.confusion[i].iter().sum();
        let (p, r) = (ratio(hits, predicted), ratio(hits, actual));
        let f1 = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        (p, r, f1)
    }

    /// Mean F1 over the classes that occur in the gold labels.
    fn macro_f1(&self) -> f64 {
        let present: Vec<usize> = (0..3)
            .filter(|i| self.confusion[*i].iter().sum::<usize>() > 0)
            .collect();
        let sum: f64 = present.iter().map(|i| self.class(*i).2).sum();
        if present.is_empty() {
            0.0
        } else {
            sum / present.len() as f64
        }
    }

    fn print(&self, system: &str) {
        println!(
            "{system:<9} accuracy {:.3}  macro-F1 {:.3}",
            self.accuracy(),
            self.macro_f1()
        );
        println!("  gold \\ predicted   positive negative  neutral   precision recall    F1");
        for (i, label) in LABELS.iter().enumerate() {
            let [a, b, c] = self.confusion[i];
            let (p, r, f1) = self.class(i);
            println!(
                "  {:<18} {a:>8} {b:>8} {c:>8}   {p:>9.3} {r:>6.3} {f1:>5.3}",
                label.as_str()
            );
        }
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Analyses every text repeatedly for at least `budget`; texts per second on this thread.
fn measure_speed(analyzer: &Analyzer, texts: &[String], budget: Duration) -> f64 {
    let start = Instant::now();
    let mut analysed = 0usize;
    loop {
        for text in texts {
            black_box(analyzer.analyze(black_box(text)));
        }
        analysed += texts.len();
        if start.elapsed() >= budget || texts.is_empty() {
            break;
        }
    }
    analysed as f64 / start.elapsed().as_secs_f64()
}

fn main() -> Result<(), EvalError> {
    let options = parse_args(std::env::args().skip(1))?;
    let analyzer = Analyzer::new(AnalyzerConfig::new().with_neutral_band(options.neutral_band)?);
    let mut summary = Vec::new();
    for path in &options.files {
        let corpus = load(path)?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let mut counts = BTreeMap::new();
        for label in &corpus.gold {
            *counts.entry(label.as_str()).or_insert(0usize) += 1;
        }
        let counts: Vec<String> = counts.iter().map(|(l, n)| format!("{l} {n}")).collect();
        println!(
            "\n== {name}: {} texts ({})",
            corpus.texts.len(),
            counts.join(", ")
        );
        let ours: Vec<Label> = corpus
            .texts
            .iter()
            .map(|t| analyzer.analyze(t).label)
            .collect();
        let mut systems = vec![("bulwark".to_owned(), Scores::new(&corpus.gold, &ours))];
        for (column, predicted) in &corpus.others {
            systems.push((column.clone(), Scores::new(&corpus.gold, predicted)));
        }
        for (system, scores) in &systems {
            scores.print(system);
            summary.push((
                name.clone(),
                scores.total(),
                system.clone(),
                scores.accuracy(),
                scores.macro_f1(),
            ));
        }
        if !options.time.is_zero() {
            let rate = measure_speed(&analyzer, &corpus.texts, options.time);
            println!(
                "bulwark speed: {:.0} texts/s ({:.2} µs/text) over {} texts, one thread",
                rate,
                1e6 / rate,
                corpus.texts.len()
            );
        }
    }
    println!("\n| corpus | texts | analyzer | accuracy | macro-F1 |");
    println!("| --- | ---: | --- | ---: | ---: |");
    for (name, n, system, accuracy, f1) in summary {
        println!("| {name} | {n} | {system} | {accuracy:.3} | {f1:.3} |");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_handles_quotes_commas_and_newlines() {
        let records = read_csv("text,label\r\n\"a, \"\"b\"\"\nc\",positive\n\nplain,neutral")
            .unwrap_or_default();
        assert_eq!(
            records,
            vec![
                vec!["text".to_owned(), "label".to_owned()],
                vec!["a, \"b\"\nc".to_owned(), "positive".to_owned()],
                vec!["plain".to_owned(), "neutral".to_owned()],
            ]
        );
        assert!(read_csv("\"open").is_err());
    }

    #[test]
    fn macro_f1_averages_the_gold_classes() {
        use Label::*;
        let gold = [Positive, Positive, Negative, Negative];
        let scores = Scores::new(&gold, &[Positive, Neutral, Negative, Negative]);
        assert_eq!(scores.accuracy(), 0.75);
        // positive: p 1, r 0.5, F1 2/3; negative: p 1, r 1, F1 1; neutral absent from gold
        assert!((scores.macro_f1() - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
    }
}
