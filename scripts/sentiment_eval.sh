#!/usr/bin/env bash
# Quality and speed of Bulwark's rule-based sentiment analyzer beside VADER (vaderSentiment from
# PyPI), on the same public labelled texts, in the same run. Not part of scripts/test.sh.
#
# Corpora, fetched from package registries (nothing is committed to the repository):
#   - PyPI `vaderSentiment` 3.3.2 source distribution (MIT): additional_resources/hutto_ICWSM_2014,
#     the human-rated ground truth of Hutto & Gilbert (ICWSM 2014): 4,200 tweets, 10,605 movie
#     review snippets, 3,708 product review snippets, 5,190 New York Times editorial snippets,
#     each with the mean rating of 20 raters on -4..+4. Gold label: the mean divided by 4, read
#     with the paper's thresholds of -0.05 and +0.05 (so positive when the mean is >= 0.2).
#   - npm `sentiment` 5.0.2 (MIT): test/fixtures/{amazon,imdb,yelp}.json, the UCI "Sentiment
#     Labelled Sentences" of Kotzias et al. (KDD 2015), 1,000 sentences each, positive/negative.
#
# Usage: bash scripts/sentiment_eval.sh [--time-secs S]
# Needs: python3 (with venv), npm, cargo; reaches PyPI and the npm registry.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

TIME_SECS=2
if [ "${1:-}" = "--time-secs" ]; then
    TIME_SECS="${2:?--time-secs needs a number}"
fi

VADER_VERSION=3.3.2
SENTIMENT_NPM_VERSION=5.0.2
WORK=target/sentiment-eval
DOWNLOADS="$WORK/downloads"
CORPORA="$WORK/corpora"
mkdir -p "$DOWNLOADS" "$CORPORA"

echo "== VADER $VADER_VERSION in a virtual environment ($WORK/venv)"
if [ ! -x "$WORK/venv/bin/python" ]; then
    python3 -m venv "$WORK/venv"
fi
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "vaderSentiment==$VADER_VERSION"

echo "== corpora"
SDIST="$DOWNLOADS/vaderSentiment-$VADER_VERSION.tar.gz"
if [ ! -f "$SDIST" ]; then
    "$WORK/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps \
        --no-binary :all: -d "$DOWNLOADS" "vaderSentiment==$VADER_VERSION"
fi
TGZ="$DOWNLOADS/sentiment-$SENTIMENT_NPM_VERSION.tgz"
if [ ! -f "$TGZ" ]; then
    (cd "$DOWNLOADS" && npm pack --silent "sentiment@$SENTIMENT_NPM_VERSION" >/dev/null)
fi
rm -rf "$DOWNLOADS/vader-sdist" "$DOWNLOADS/hutto" "$DOWNLOADS/npm-sentiment"
mkdir -p "$DOWNLOADS/vader-sdist" "$DOWNLOADS/hutto" "$DOWNLOADS/npm-sentiment"
tar -xzf "$SDIST" -C "$DOWNLOADS/vader-sdist"
tar -xzf "$DOWNLOADS/vader-sdist/vaderSentiment-$VADER_VERSION/additional_resources/hutto_ICWSM_2014.tar.gz" \
    -C "$DOWNLOADS/hutto"
tar -xzf "$TGZ" -C "$DOWNLOADS/npm-sentiment"

# Builds the CSVs (text, gold label, VADER's label) and times VADER on the tweets.
echo "load average before timing VADER: $(cut -d' ' -f1-3 /proc/loadavg)"
"$WORK/venv/bin/python" - "$DOWNLOADS" "$CORPORA" "$TIME_SECS" <<'PY'
import csv, json, sys, time
from pathlib import Path
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

downloads, corpora, budget = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
vader = SentimentIntensityAnalyzer()

def label(score, band=0.05):
    return "positive" if score >= band else "negative" if score <= -band else "neutral"

def hutto(name):
    path = downloads / "hutto" / "hutto_ICWSM_2014" / f"{name}_GroundTruth.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            _id, mean, text = line.split("\t", 2)
            yield text, label(float(mean) / 4.0)

def uci(name):
    path = downloads / "npm-sentiment" / "package" / "test" / "fixtures" / f"{name}.json"
    for item in json.loads(path.read_text(encoding="utf-8")):
        if item.get("class") in (0, 1):  # each file ends with an empty record
            yield item["text"], "positive" if item["class"] == 1 else "negative"

sources = {
    "hutto_tweets": hutto("tweets"),
    "hutto_movie_reviews": hutto("movieReviewSnippets"),
    "hutto_amazon_reviews": hutto("amazonReviewSnippets"),
    "hutto_nyt_editorials": hutto("nytEditorialSnippets"),
    "uci_amazon": uci("amazon"),
    "uci_imdb": uci("imdb"),
    "uci_yelp": uci("yelp"),
}
tweets = []
for name, rows in sources.items():
    rows = list(rows)
    with open(corpora / f"{name}.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["text", "label", "vader"])
        for text, gold in rows:
            writer.writerow([text, gold, label(vader.polarity_scores(text)["compound"])])
    if name == "hutto_tweets":
        tweets = [text for text, _ in rows]

analysed, start = 0, time.perf_counter()
while True:
    for text in tweets:
        vader.polarity_scores(text)
    analysed += len(tweets)
    if time.perf_counter() - start >= budget:
        break
rate = analysed / (time.perf_counter() - start)
print(f"vader speed: {rate:.0f} texts/s ({1e6 / rate:.2f} µs/text) over {len(tweets)} texts, one thread")
(corpora / "vader_speed.txt").write_text(f"{rate:.0f}\n")
PY

echo "== bulwark"
echo "load average before timing bulwark: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo build --quiet --release -p bulwark-examples --example sentiment_eval
EVAL=target/release/examples/sentiment_eval
"$EVAL" --time-secs 0 "$CORPORA"/hutto_movie_reviews.csv "$CORPORA"/hutto_amazon_reviews.csv \
    "$CORPORA"/hutto_nyt_editorials.csv "$CORPORA"/uci_amazon.csv "$CORPORA"/uci_imdb.csv \
    "$CORPORA"/uci_yelp.csv
# The tweets last, with the speed measured on them.
"$EVAL" --time-secs "$TIME_SECS" "$CORPORA"/hutto_tweets.csv | tee "$WORK/tweets.txt"

OURS=$(sed -n 's/^bulwark speed: \([0-9]*\) texts\/s.*/\1/p' "$WORK/tweets.txt")
VADER=$(cat "$CORPORA/vader_speed.txt")
echo
echo "speed on the 4,200 tweets, one thread: bulwark $OURS texts/s, vader $VADER texts/s," \
    "ratio $(python3 -c "print(f'{$OURS / $VADER:.0f}')")x"
